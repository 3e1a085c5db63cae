# Stand-in for python:3.11-slim-bookworm, built from Debian's packages on the debootstrap base: Python 3.11 in a
# venv at /usr/local/python, first on PATH, so `python` and `pip` mean what they mean in the official image.
ARG BASE_IMAGE
FROM ${BASE_IMAGE}
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 python3-venv ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && python3 -m venv /usr/local/python
# ca-certificates' bundle holds the machine's own CAs too (the base copies them in), which a TLS-inspecting egress
# proxy needs; pip's vendored bundle would not.
ENV PATH=/usr/local/python/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    PIP_CERT=/etc/ssl/certs/ca-certificates.crt
CMD ["python"]
