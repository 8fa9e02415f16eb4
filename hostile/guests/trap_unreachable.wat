;; A WASI command whose `_start` executes `unreachable` at once: the plainest Wasm trap.
(module
  (memory (export "memory") 1)
  (func (export "_start") unreachable))
