;; A WASI command that declares an externref table (reference types, not GC): a node that
;; refuses it should say "externref" / "reference types", not "gc types".
(module
  (memory (export "memory") 1)
  (table 1 externref)
  (func (export "_start")))
