# Multi-stage build: compile with the Rust toolchain, ship only the binary on a slim base.
FROM rust:1-bookworm AS build
WORKDIR /src
COPY Cargo.toml Cargo.lock ./
COPY src src
COPY migrations migrations
RUN cargo build --release --locked --bin runback

FROM debian:bookworm-slim
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates curl \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 runback \
    && printf '#!/bin/sh\nexec curl -fsS http://127.0.0.1:8080/readyz >/dev/null\n' > /usr/local/bin/runback-healthcheck \
    && chmod +x /usr/local/bin/runback-healthcheck
COPY --from=build /src/target/release/runback /usr/local/bin/runback
USER runback
ENV BIND_ADDR=0.0.0.0:8080
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/runback"]
CMD ["serve"]
