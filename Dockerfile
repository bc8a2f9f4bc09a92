# authd in a container: multi-stage, dependencies cached in their own layer, a small
# runtime image, a non-root user, the SQLite file on a volume only that user can enter.
#
# There is no Docker engine on our build machines, so this file is not built in CI. Its
# steps are deliberately the ones CI does prove (`.ci/container`): the dependency stage's
# stub sources build, `cargo build --release --locked` works from a clean checkout (protoc
# comes from the protoc-bin-vendored crate, SQLite is compiled in), the binary serves with
# these AUTHD_* settings and its database in a volume-like directory, and `authd health`
# (the HEALTHCHECK) says it is ready.
#
#   docker build -t authd .
#   docker run -p 50051:50051 -v authd-data:/var/lib/authd authd

FROM rust:1.95-bookworm AS build
WORKDIR /src

# Dependency layer: build the dependency graph against stub sources, so editing src/ does
# not rebuild the world.
COPY Cargo.toml Cargo.lock build.rs ./
# How the bundled SQLite is compiled (LIBSQLITE3_FLAGS), before it is built below.
COPY .cargo ./.cargo
COPY proto ./proto
# The workspace's other member (the verifier crate services depend on) must be there for
# the manifest to load; only authd is built.
COPY authd-verify/Cargo.toml ./authd-verify/
RUN mkdir src benches authd-verify/src && echo 'fn main() {}' > src/main.rs && touch src/lib.rs \
    && touch authd-verify/src/lib.rs && echo 'fn main() {}' > benches/core.rs \
    && cargo build --release --locked \
    && rm -rf src benches authd-verify

COPY . .
RUN touch src/main.rs src/lib.rs && cargo build --release --locked

FROM debian:bookworm-slim
RUN useradd --system --uid 10001 --home-dir /var/lib/authd --shell /usr/sbin/nologin authd \
    && mkdir -p /var/lib/authd && chown authd:authd /var/lib/authd && chmod 0700 /var/lib/authd
COPY --from=build /src/target/release/authd /usr/local/bin/authd
# Numeric, so Kubernetes' runAsNonRoot can verify it without reading /etc/passwd.
USER 10001:10001
WORKDIR /var/lib/authd
VOLUME ["/var/lib/authd"]
# Inside a container, listen on every interface; the database lives on the volume.
ENV AUTHD_LISTEN=0.0.0.0:50051 \
    AUTHD_DATABASE_URL=sqlite:///var/lib/authd/authd.db
EXPOSE 50051
# The binary is its own probe (the image has no curl): GET /readyz on AUTHD_LISTEN.
HEALTHCHECK --interval=10s --timeout=5s --start-period=10s --retries=3 \
    CMD ["/usr/local/bin/authd", "health"]
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/local/bin/authd"]
