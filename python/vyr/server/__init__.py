"""The `vyr daemon` gRPC server: `app` (lifecycle), `servicer` (proto <-> domain), `interceptors`
(errors, auth) and `node` (runtime + journal + blobs)."""
