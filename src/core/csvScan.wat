;; The csvlog record scanner's inner loop, in WebAssembly: the one loop every byte of the log goes
;; through, about twice as fast here as the same loop in TypeScript. It finds the field bounds of a
;; well-formed record, as scanInto (csvRecord.ts) does, and nothing else: any record it does not
;; accept whole (cut off by the end of the chunk, damaged, of an unknown column count) it leaves to
;; scanInto, which says why. What a record is (recordClass.ts) is decided in TypeScript only; the
;; module's other export, find, is a bounded search for a byte that plainText.ts asks for. The two
;; scans agree on every record this one accepts (test/unit/csvScan), and PG_DDL_SYNC_NO_WASM=1 reads
;; with scanInto alone.
;;
;; Memory, laid out by csvScan.ts, which passes the offsets in: field i's bounds at [8i, 8i+8) (start,
;; end, quotes included), the field count at $countAt, the chunk from $chunkAt on. Offsets given and
;; returned are relative to the chunk.
;;
;; Build: npm run build:wasm (compiles this file into csvScanWasm.ts).
(module
  ;; The caller makes the memory, as large as the chunk needs: growing it here would detach the
  ;; buffer the chunk's views are on (and, once any buffer is detached, V8 checks every typed array
  ;; access for it).
  (import "env" "memory" (memory 1))
  (import "env" "chunkAt" (global $chunkAt i32))
  (import "env" "countAt" (global $countAt i32))
  (import "env" "maxFields" (global $maxFields i32))

  ;; Scans the record at chunk offset $pos, the chunk being $len bytes long, of at most $maxFields
  ;; fields. Returns the offset just past its newline, or -1 where scanInto must look. Whether its
  ;; column count is one csvlog has is csvScan.ts's to check.
  (func $scan (export "scan") (param $pos i32) (param $len i32) (result i32)
    (local $i i32) (local $c i32) (local $f i32) (local $end i32) (local $m i32) (local $v v128)
    (local.set $i (i32.add (local.get $pos) (global.get $chunkAt)))
    (local.set $end (i32.add (local.get $len) (global.get $chunkAt)))
    (block $other
      ;; A record starts with log_time: YYYY-MM-DD HH:MM:SS.
      (br_if $other (i32.gt_u (i32.add (local.get $i) (i32.const 19)) (local.get $end)))
      (br_if $other (i32.eqz (call $timestamp (local.get $i))))
      (loop $field
        (i32.store (i32.shl (local.get $f) (i32.const 3)) (i32.sub (local.get $i) (global.get $chunkAt)))
        (br_if $other (i32.ge_u (local.get $i) (local.get $end)))
        (if (i32.eq (i32.load8_u (local.get $i)) (i32.const 0x22))
          (then
            ;; Quoted: to the quote that is not doubled; the byte after it tells.
            (local.set $i (i32.add (local.get $i) (i32.const 1)))
            (loop $quoted
              ;; To the next quote: sixteen bytes a step while there are sixteen, then one a step
              ;; (a call would cost more than most fields are long).
              (block $atQuote
                (loop $wide
                  (if (i32.le_u (i32.add (local.get $i) (i32.const 16)) (local.get $end))
                    (then
                      (local.set $m (i8x16.bitmask (i8x16.eq (v128.load (local.get $i)) (v128.const i8x16 0x22 0x22 0x22 0x22 0x22 0x22 0x22 0x22 0x22 0x22 0x22 0x22 0x22 0x22 0x22 0x22))))
                      (if (local.get $m)
                        (then
                          (local.set $i (i32.add (local.get $i) (i32.ctz (local.get $m))))
                          (br $atQuote)))
                      (local.set $i (i32.add (local.get $i) (i32.const 16)))
                      (br $wide))))
                (loop $narrow
                  (br_if $other (i32.ge_u (local.get $i) (local.get $end)))
                  (br_if $atQuote (i32.eq (i32.load8_u (local.get $i)) (i32.const 0x22)))
                  (local.set $i (i32.add (local.get $i) (i32.const 1)))
                  (br $narrow)))
              (local.set $i (i32.add (local.get $i) (i32.const 1)))
              (br_if $other (i32.ge_u (local.get $i) (local.get $end)))
              (if (i32.eq (i32.load8_u (local.get $i)) (i32.const 0x22))
                (then
                  (local.set $i (i32.add (local.get $i) (i32.const 1)))
                  (br $quoted)))))
          (else
            ;; Unquoted: to a comma or a newline; a quote is damage. An empty field (a third of a
            ;; record's are) ends at once; else sixteen bytes a step while there are sixteen, then one
            ;; a step.
            (block $atStop
              (br_if $atStop (i32.eq (i32.load8_u (local.get $i)) (i32.const 0x2c)))
              (loop $wide
                (if (i32.le_u (i32.add (local.get $i) (i32.const 16)) (local.get $end))
                  (then
                    (local.set $v (v128.load (local.get $i)))
                    (local.set $m
                      (i8x16.bitmask
                        (v128.or
                          (v128.or
                            (i8x16.eq (local.get $v) (v128.const i8x16 0x2c 0x2c 0x2c 0x2c 0x2c 0x2c 0x2c 0x2c 0x2c 0x2c 0x2c 0x2c 0x2c 0x2c 0x2c 0x2c))
                            (i8x16.eq (local.get $v) (v128.const i8x16 0x0a 0x0a 0x0a 0x0a 0x0a 0x0a 0x0a 0x0a 0x0a 0x0a 0x0a 0x0a 0x0a 0x0a 0x0a 0x0a)))
                          (i8x16.eq (local.get $v) (v128.const i8x16 0x22 0x22 0x22 0x22 0x22 0x22 0x22 0x22 0x22 0x22 0x22 0x22 0x22 0x22 0x22 0x22)))))
                    (if (local.get $m)
                      (then
                        (local.set $i (i32.add (local.get $i) (i32.ctz (local.get $m))))
                        (br $atStop)))
                    (local.set $i (i32.add (local.get $i) (i32.const 16)))
                    (br $wide))))
              (loop $narrow
                (br_if $other (i32.ge_u (local.get $i) (local.get $end)))
                (local.set $c (i32.load8_u (local.get $i)))
                (br_if $atStop
                  (i32.or
                    (i32.or (i32.eq (local.get $c) (i32.const 0x2c)) (i32.eq (local.get $c) (i32.const 0x0a)))
                    (i32.eq (local.get $c) (i32.const 0x22))))
                (local.set $i (i32.add (local.get $i) (i32.const 1)))
                (br $narrow)))
            (br_if $other (i32.eq (i32.load8_u (local.get $i)) (i32.const 0x22)))))
        (i32.store offset=4 (i32.shl (local.get $f) (i32.const 3)) (i32.sub (local.get $i) (global.get $chunkAt)))
        (local.set $f (i32.add (local.get $f) (i32.const 1)))
        ;; The separator: a comma goes on to the next field (up to $maxFields), a newline ends the
        ;; record, anything else (text after a closing quote) is scanInto's to name.
        (local.set $c (i32.load8_u (local.get $i)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (if (i32.eq (local.get $c) (i32.const 0x2c))
          (then
            (br_if $field (i32.lt_u (local.get $f) (global.get $maxFields)))
            (br $other)))
        (br_if $other (i32.ne (local.get $c) (i32.const 0x0a))))
      (i32.store (global.get $countAt) (local.get $f))
      (return (i32.sub (local.get $i) (global.get $chunkAt))))
    (i32.const -1))

  ;; Where the first byte $b is in the chunk's [$from, $to), or -1: a bounded memchr, sixteen bytes a
  ;; step. It knows nothing of records; the rules that ask (plainText.ts) are TypeScript's.
  (func $find (export "find") (param $b i32) (param $from i32) (param $to i32) (result i32)
    (local $i i32) (local $end i32) (local $m i32) (local $v v128)
    (local.set $i (i32.add (local.get $from) (global.get $chunkAt)))
    (local.set $end (i32.add (local.get $to) (global.get $chunkAt)))
    (local.set $v (i8x16.splat (local.get $b)))
    (block $none
      (loop $wide
        (if (i32.le_u (i32.add (local.get $i) (i32.const 16)) (local.get $end))
          (then
            (local.set $m (i8x16.bitmask (i8x16.eq (v128.load (local.get $i)) (local.get $v))))
            (if (local.get $m)
              (then (return (i32.sub (i32.add (local.get $i) (i32.ctz (local.get $m))) (global.get $chunkAt)))))
            (local.set $i (i32.add (local.get $i) (i32.const 16)))
            (br $wide))))
      (loop $narrow
        (br_if $none (i32.ge_u (local.get $i) (local.get $end)))
        (if (i32.eq (i32.load8_u (local.get $i)) (local.get $b))
          (then (return (i32.sub (local.get $i) (global.get $chunkAt)))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $narrow)))
    (i32.const -1))

  ;; Whether the 19 bytes at $at are `dddd-dd-dd dd:dd:dd` (d a digit): the first sixteen at once (a
  ;; lane holds a digit where the mask says one, else its separator), the last three one by one.
  (func $timestamp (param $at i32) (result i32)
    (local $v v128)
    (local.set $v (v128.load (local.get $at)))
    (i32.and
      (i8x16.all_true
        (v128.bitselect
          (i8x16.le_u
            (i8x16.sub (local.get $v) (v128.const i8x16 0x30 0x30 0x30 0x30 0x30 0x30 0x30 0x30 0x30 0x30 0x30 0x30 0x30 0x30 0x30 0x30))
            (v128.const i8x16 9 9 9 9 9 9 9 9 9 9 9 9 9 9 9 9))
          (i8x16.eq (local.get $v) (v128.const i8x16 0 0 0 0 0x2d 0 0 0x2d 0 0 0x20 0 0 0x3a 0 0))
          (v128.const i8x16 -1 -1 -1 -1 0 -1 -1 0 -1 -1 0 -1 -1 0 -1 -1)))
      (i32.and
        (i32.eq (i32.load8_u offset=16 (local.get $at)) (i32.const 0x3a))
        (i32.and
          (i32.le_u (i32.sub (i32.load8_u offset=17 (local.get $at)) (i32.const 0x30)) (i32.const 9))
          (i32.le_u (i32.sub (i32.load8_u offset=18 (local.get $at)) (i32.const 0x30)) (i32.const 9))))))
)
