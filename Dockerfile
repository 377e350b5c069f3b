# The chatroom server's image (README: "Running in containers").
#
#   docker build -t chatroom .                    # compiles in rust:1.95-bookworm
#   docker build --target prebuilt -t chatroom .  # takes the host's target/release/chatroom
#
# The second is what scripts/images does on a machine with no registry, where no Rust image
# can be pulled: the host has just built the same binary with `cargo build --release
# --locked`, and CI builds it anyway. The legacy builder (no BuildKit) builds every stage up to
# the one asked for, in file order, so the prebuilt stage comes before the Rust one: asking for
# it never compiles. The last stage, the default, compiles from source.
#
# The binary links only glibc (SQLite, libpq and OpenSSL are compiled in), so the runtime is
# Debian's slim image with curl for the health check.

FROM debian:bookworm-slim AS runtime-base
RUN apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends curl ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --user-group --home-dir /data --shell /usr/sbin/nologin chatroom \
    && install -d -o chatroom -g chatroom -m 0750 /data \
    && install -d -o chatroom -g chatroom -m 0755 /run/chatroom
COPY deploy/images/chatroom/healthcheck /usr/local/bin/chatroom-healthcheck
# Every setting is a flag or an environment variable (README: "Commands and settings"). The
# database is SQLite in the volume unless DATABASE_URL names a PostgreSQL database; without
# CHATROOM_SECRET the cookie key is kept beside it, in /data/chat.db.key.
ENV CHATROOM_BIND=0.0.0.0:8080 \
    DATABASE_URL=/data/chat.db
VOLUME /data
WORKDIR /data
EXPOSE 8080
USER chatroom
# Docker 20.10 has no start interval: the first check comes one interval after the start, so
# the interval is short enough for a container to be healthy within 3 s.
HEALTHCHECK --interval=2s --timeout=3s --start-period=60s --retries=3 CMD ["chatroom-healthcheck"]
ENTRYPOINT ["chatroom"]
CMD ["serve"]

# The host's binary. The wildcard lets the default build below go through this stage where
# there is no such file (the health check script is always there, so the COPY has a source).
FROM runtime-base AS prebuilt
COPY deploy/images/chatroom/healthcheck target/release/chatroom* /usr/local/bin/

FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --locked && cp target/release/chatroom /usr/local/bin/chatroom

FROM runtime-base AS runtime
COPY --from=build /usr/local/bin/chatroom /usr/local/bin/chatroom
