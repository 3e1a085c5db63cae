#!/usr/bin/env bash
# `make compose-test`: build the images, start the real docker-compose.yml (with docker-compose.cpu.yml) and prove it
# trains and survives a killed worker, on a machine with no image registry and no Docker set up.
#
# - installs Debian's docker.io, docker-compose and debootstrap when they are missing (needs root and apt);
# - starts a private dockerd (own socket, data root and exec root under one temporary directory, no bridge, no
#   iptables), so a Docker the machine already runs is never touched, and removing that directory afterwards leaves
#   no image, volume or build cache behind;
# - builds local stand-ins for the registry's images: a Debian bookworm base (debootstrap + docker import), and on it
#   Python 3.11, PostgreSQL and Redis from Debian's packages;
# - runs the stack with docker-compose.test.yml, which swaps those images in and puts every service on the host's
#   network on free loopback ports (this machine allows no traffic to private-range addresses such as a bridge's);
# - runs scenario.py against it, then tears everything down, on success and on failure alike.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
# Debian's binaries first: a newer docker CLI elsewhere on PATH may lack the builder this daemon pairs with.
export PATH="/usr/sbin:/usr/bin:/sbin:/bin:$PATH"
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
SECURITY_MIRROR=${DEBIAN_SECURITY_MIRROR:-http://deb.debian.org/debian-security}
PROJECT=gradyard-compose-test
TAG=gradyard-compose-test
WORK=$(mktemp -d "${TMPDIR:-/var/tmp}/gradyard-compose-test.XXXXXX")
export DOCKER_HOST="unix://$WORK/docker.sock"
ENV_FILE=$WORK/compose.env
DOCKERD_PID=
POLICY_RC_MADE=
PHASE=
PHASE_START=0
SUMMARY=
TIMES=()

log() { printf '[compose-test %s] %s\n' "$(date +%T)" "$*"; }

phase() {
    local now
    now=$(date +%s)
    [[ -n $PHASE ]] && TIMES+=("$(printf '%-26s %4ss' "$PHASE" $((now - PHASE_START)))")
    PHASE=$1
    PHASE_START=$now
    [[ -n $PHASE ]] && log "== $PHASE"
    return 0
}

compose() { docker-compose --project-name "$PROJECT" --profile monitor -f "$WORK/compose.yml" "$@"; }

# The three files merged by compose itself, less every `ports:` list: docker refuses to publish ports under host
# networking, where the services listen on the host's ports directly, and an override file can add but not remove.
merge_compose_files() {
    docker-compose --env-file "$ENV_FILE" --project-name "$PROJECT" -f "$ROOT/docker-compose.yml" \
        -f "$ROOT/docker-compose.cpu.yml" -f "$HERE/docker-compose.test.yml" config |
        python3 -c 'import sys, yaml  # PyYAML comes with docker-compose
config = yaml.safe_load(sys.stdin)
for service in config["services"].values():
    service.pop("ports", None)
yaml.safe_dump(config, sys.stdout, sort_keys=False)' >"$WORK/compose.yml"
}

install_tools() {
    local missing=()
    command -v dockerd >/dev/null || missing+=(docker.io)
    command -v docker-compose >/dev/null || missing+=(docker-compose)
    command -v debootstrap >/dev/null || missing+=(debootstrap)
    ((${#missing[@]})) || return 0
    command -v apt-get >/dev/null || { log "missing ${missing[*]} and no apt-get to install them"; return 1; }
    # Keep the package's postinst from starting a system dockerd (with its default bridge) behind our back.
    if [[ ! -e /usr/sbin/policy-rc.d ]]; then
        printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d
        POLICY_RC_MADE=1
    fi
    log "installing ${missing[*]}"
    apt-get -o DPkg::Lock::Timeout=600 update -qq
    DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends \
        "${missing[@]}" >"$WORK/apt.log"
    if [[ -n $POLICY_RC_MADE ]]; then rm -f /usr/sbin/policy-rc.d; POLICY_RC_MADE=; fi
}

start_dockerd() {
    dockerd --host "$DOCKER_HOST" --data-root "$WORK/data" --exec-root "$WORK/exec" --pidfile "$WORK/dockerd.pid" \
        --bridge=none --iptables=false --ip-masq=false --log-level=warn >"$WORK/dockerd.log" 2>&1 &
    DOCKERD_PID=$!
    for _ in $(seq 60); do
        docker version >/dev/null 2>&1 && return 0
        kill -0 "$DOCKERD_PID" 2>/dev/null || break
        sleep 1
    done
    log "dockerd did not start:"; tail -20 "$WORK/dockerd.log"; return 1
}

build_base() {
    local rootfs=$WORK/rootfs
    debootstrap --variant=minbase bookworm "$rootfs" "$MIRROR" >"$WORK/debootstrap.log"
    printf 'deb %s bookworm main\ndeb %s bookworm-updates main\ndeb %s bookworm-security main\n' \
        "$MIRROR" "$MIRROR" "$SECURITY_MIRROR" >"$rootfs/etc/apt/sources.list"
    # As in Debian's official image: packages installed in a build do not try to start their services.
    printf '#!/bin/sh\nexit 101\n' >"$rootfs/usr/sbin/policy-rc.d" && chmod +x "$rootfs/usr/sbin/policy-rc.d"
    printf 'APT::Install-Recommends "false";\n' >"$rootfs/etc/apt/apt.conf.d/90no-recommends"
    # The machine's own CAs (a TLS-inspecting egress proxy's, say); ca-certificates adds them to the system bundle.
    mkdir -p "$rootfs/usr/local/share/ca-certificates"
    find /usr/local/share/ca-certificates -maxdepth 1 -name '*.crt' \
        -exec cp {} "$rootfs/usr/local/share/ca-certificates/" \;
    rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/*
    tar -C "$rootfs" -c . | docker import --change 'CMD ["bash"]' --change 'ENV LANG=C.UTF-8' \
        --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' - "$TAG/bookworm:12" >/dev/null
    rm -rf "$rootfs"
}

build_standins() {
    local name
    for name in python postgres redis; do
        docker build --quiet --network host --build-arg "BASE_IMAGE=$TAG/bookworm:12" -t "$TAG/$name:bookworm" \
            -f "$HERE/standins/$name.Dockerfile" "$HERE/standins" >/dev/null
    done
}

write_env_file() {
    local ports secret
    read -r -a ports < <(python3 -c 'import socket
socks = [socket.socket() for _ in range(5)]
for s in socks: s.bind(("127.0.0.1", 0))
print(*(s.getsockname()[1] for s in socks))')
    secret() { od -An -N16 -tx1 /dev/urandom | tr -d ' \n'; }
    cat >"$ENV_FILE" <<EOF
POSTGRES_PASSWORD=$(secret)
REDIS_PASSWORD=$(secret)
FLOWER_BASIC_AUTH=gradyard:$(secret)
GRADYARD_PORT=${ports[0]}
FLOWER_PORT=${ports[1]}
TEST_PG_PORT=${ports[2]}
TEST_REDIS_PORT=${ports[3]}
PROMETHEUS_PORT=${ports[4]}
TEST_IMAGES=$TAG
GRADYARD_MAX_JOB_SECONDS=3600
EOF
}

# Run a command with its output in $WORK/NAME.log, shown only if it fails (a worker build prints thousands of lines).
quietly() {
    local name=$1
    shift
    "$@" >"$WORK/$name.log" 2>&1 || { tail -60 "$WORK/$name.log"; return 1; }
}

env_value() { sed -n "s/^$1=//p" "$ENV_FILE"; }

container_of() { compose ps -q "$1"; }

start_stack() {
    compose up -d --no-build
    local api="http://127.0.0.1:$(env_value GRADYARD_PORT)"
    for _ in $(seq 120); do
        python3 -c "import urllib.request; urllib.request.urlopen('$api/readyz', timeout=2)" 2>/dev/null && return 0
        sleep 1
    done
    log "the API never became ready"; return 1
}

# Prometheus needs an admin key the API's database knows: make it as an operator would, put it in the env file, and
# (re)create only the prometheus service with it (it refused to start without one during `up`).
start_prometheus() {
    local key
    key=$(compose exec -T api gradyard keys create --user prometheus --admin | tail -1 | tr -d '\r')
    [[ $key == gy_* ]] || { log "no admin key for Prometheus: $key"; return 1; }
    echo "GRADYARD_METRICS_KEY=$key" >>"$ENV_FILE"
    merge_compose_files
    compose up -d --no-build prometheus
}

report_images() {
    log "image sizes:"
    docker image ls --format '{{.Repository}}:{{.Tag}} {{.Size}}' | sort | sed 's/^/    /'
}

teardown() {
    local code=$?
    set +e
    trap - EXIT INT TERM
    [[ $code -ne 0 && -n $DOCKERD_PID ]] && { log "failed; the services' last log lines:"; compose logs --tail=40; }
    phase "teardown"
    if [[ -n $DOCKERD_PID ]]; then
        compose down -v --remove-orphans
        # The images, their layers and the build cache live in the daemon's data root, removed with $WORK below.
        kill "$DOCKERD_PID" 2>/dev/null
        for _ in $(seq 60); do kill -0 "$DOCKERD_PID" 2>/dev/null || break; sleep 1; done
        kill -9 "$DOCKERD_PID" 2>/dev/null
        wait "$DOCKERD_PID" 2>/dev/null
    fi
    # Whatever dockerd left running (its containerd, a shim) has our directory in its command line.
    local pid
    for pid in $(pgrep -f "$WORK"); do kill -9 "$pid" 2>/dev/null; done
    grep -o " $WORK[^ ]*" /proc/mounts | sort -r | while read -r mount; do umount -l "$mount"; done
    rm -rf "$WORK"
    [[ -n $POLICY_RC_MADE ]] && rm -f /usr/sbin/policy-rc.d
    phase ""
    log "time of each phase:"
    printf '    %s\n' "${TIMES[@]}"
    log "$([[ $code -eq 0 ]] && echo passed || echo "FAILED (exit $code)")"
    [[ -n $SUMMARY ]] && echo "$SUMMARY"
    exit "$code"
}

main() {
    [[ $(id -u) -eq 0 ]] || { log "needs root: it installs packages and runs its own dockerd"; exit 1; }
    trap teardown EXIT
    trap 'exit 130' INT TERM
    phase "install tools"; install_tools
    phase "start dockerd"; start_dockerd
    phase "base image (debootstrap)"; build_base
    phase "stand-in images"; build_standins
    write_env_file
    merge_compose_files
    phase "build api image"; quietly build-api compose build migrate api
    phase "build flower image"; quietly build-flower compose build flower
    phase "build worker image"; quietly build-worker compose build worker-cpu worker-cpu-pool
    phase "build prometheus image"; quietly build-prometheus compose build prometheus
    report_images
    phase "start stack"; start_stack
    phase "start prometheus"; start_prometheus
    phase "scenario"
    local status=0
    python3 "$HERE/scenario.py" --api "http://127.0.0.1:$(env_value GRADYARD_PORT)" \
        --flower "http://127.0.0.1:$(env_value FLOWER_PORT)" --flower-auth "$(env_value FLOWER_BASIC_AUTH)" \
        --api-container "$(container_of api)" --worker-container "$(container_of worker-cpu)" \
        --redis-container "$(container_of redis)" --postgres-container "$(container_of postgres)" \
        --flower-container "$(container_of flower)" \
        --prometheus "http://127.0.0.1:$(env_value PROMETHEUS_PORT)" \
        --redis-port "$(env_value TEST_REDIS_PORT)" |
        tee "$WORK/scenario.log" || status=$?
    SUMMARY=$(tail -1 "$WORK/scenario.log")
    return "$status"
}

main "$@"
