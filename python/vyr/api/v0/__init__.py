"""Control API v0: `control_pb2` (messages) and `control_pb2_grpc` (stubs), generated from
`proto/vyr/api/v0/control.proto` by `scripts/gen_protos.py`."""
