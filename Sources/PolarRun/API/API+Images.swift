extension API {
    /// `docker_build` and `push`: the Docker CLI (`POLARRUN_DOCKER`, `/usr/bin/docker` or
    /// `docker` on PATH) against `DOCKER_HOST`.
    public enum Images {
        /// `wait=false` and what goes with it, the same for builds and pushes.
        static let parallel: [Declaration.Option] = [
            .init("wait", .boolean, "false: return a process handle at once (for `proc.wait_any`, `:wait()`); its result never raises for the image's own failure (`ok = false`, `error`)"),
            .init("since", .number, "a start time (`polarrun.now()`) shown as elapsed seconds in each logged line"),
            .init("progress", .string, "a state such as \"building\": a live row on a terminal"),
            .init("quiet", .boolean, "leave out the built/pushed line"),
        ]

        public static let build = Declaration(
            "docker_build", "Builds an image with BuildKit (`DOCKER_BUILDKIT=1`, built into Docker 20.10 and later, so `RUN --mount=type=cache` works), streaming the build's output (plain progress) to the log as `[prefix] line`.",
            args: [.init("build", .table, "what to build (below)", options: [
                .init("tag", .string, "the image name", required: true),
                .init("context", .string, "the build context directory", required: true),
                .init("dockerfile", .string, "default `<context>/Dockerfile`"),
                .init("build_args", .table, "`--build-arg` values", annotation: "table<string, string>"),
                .init("labels", .table, "image labels", annotation: "table<string, string>"),
                .init("network", .string, "default host"),
                .init("prefix", .string, "shown before each output line (default the tag)"),
                .init("timeout", .number, "seconds (default 7200)"),
                .init("pull", .boolean, "pull newer base images"),
                .init("no_cache", .boolean, "do not use the build cache; cache mounts start empty too"),
            ] + parallel)],
            returns: [.init("{image: string, id: string}|polarrun.Process", "a handle with `wait = false`")],
            errors: ["`docker`: the build failed", "`usage`: a missing tag, context or Dockerfile"],
            example: #"local img = docker_build{tag = "polardb/engine:15", context = ".", dockerfile = "docker/Dockerfile.engine"}"#)

        public static let push = Declaration(
            "push", "Pushes an image, retrying transient failures with exponential backoff (doubling, at most 30 s); an answer no retry can change (denied, unauthorized, authentication required, does not exist, invalid reference) fails at once.",
            args: [.init("image", .string, "the image name"),
                   .opts([.init("retries", .integer, "default 4"),
                          .init("backoff", .number, "seconds before the first retry, doubled each time (default 1)"),
                          .init("timeout", .number, "seconds per attempt (default 3600)"),
                          .init("prefix", .string, "shown before each output line (default the image)")] + parallel)],
            returns: [.init("string|polarrun.Process", "the registry digest `sha256:…`; a handle with `wait = false`")],
            errors: ["`docker`: a permanent failure, or every attempt failed (field `attempts`)"],
            example: #"local digest = push("registry.local/polardb/engine:15")"#)

        public static let section = APISection("Images", [build, push])
    }
}
