"""The collector guest's C sources and `decode`, the decoder of the batches it forwards."""
