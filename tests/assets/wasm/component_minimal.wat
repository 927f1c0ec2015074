;; Invalid (WasmInvalid): a component-model binary (layer 1) wrapping a filter module; the
;; scheduler loads core modules only.
(component
  (core module
    (memory (export "memory") 1)
    (func (export "filter") (result i32) (i32.const 0))))
