"""The container baseline for the comparison benchmarks: minimal and typical OCI images built
with buildah (`images.py`), a private containerd (`containerd.py`) and a job runner with
Kubernetes Job semantics on top of `ctr` (`jobs.py`). Nothing here imports `vyr`."""
