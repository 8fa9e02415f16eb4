;; The exports every random module from `wasm-tools smith --exports` must have: a WASI
;; command's `_start` and `memory` (the bodies are random).
(module
  (memory (export "memory") 1)
  (func (export "_start")))
