"""The cloud, edge and disconnected environments (and wasmtime-py) behind `make environments`
(`python -m environments.run`): each a module with `run(work, artifacts, inputs)`."""
