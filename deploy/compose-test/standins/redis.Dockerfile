# Stand-in for redis:7, from Debian's Redis 7.0: redis-server and redis-cli on PATH, the working directory (where
# the append-only file goes) at /data, run as the redis user.
ARG BASE_IMAGE
FROM ${BASE_IMAGE}
RUN apt-get update \
 && apt-get install -y --no-install-recommends redis-server \
 && rm -rf /var/lib/apt/lists/* \
 && mkdir /data && chown redis:redis /data
WORKDIR /data
USER redis
VOLUME /data
CMD ["redis-server"]
