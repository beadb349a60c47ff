;; The csvlog record scanner's inner loop, in WebAssembly: the one loop every byte of the log goes
;; through, about twice as fast here as the same loop in JavaScript. It does what scanInto
;; (csvRecord.ts) does for a well-formed record, and nothing else: any record it does not accept
;; whole (cut off by the end of the chunk, damaged, of an unknown column count) it leaves to
;; scanInto, which says why. The two agree on every record this one accepts (test/unit/csvScan).
;;
;; Memory: [0, 516) the field bounds of the record scanned last, as scanInto writes them (field i is
;; [i32 at 8i, i32 at 8i+4), quotes included; the field count at 512); the chunk from CHUNK (1024)
;; on. Offsets given and returned are relative to the chunk.
;;
;; Build: npm run build:wasm (compiles this file into csvScanWasm.ts).
(module
  ;; The caller makes the memory, as large as the chunk needs: growing it here would detach the
  ;; buffer the chunk's views are on (and, once any buffer is detached, V8 checks every typed array
  ;; access for it).
  (import "env" "memory" (memory 1))

  ;; Scans the record at chunk offset $pos, the chunk being $len bytes long. Returns the offset just
  ;; past its newline, or -1 where scanInto must look.
  (func (export "scan") (param $pos i32) (param $len i32) (result i32)
    (local $i i32) (local $c i32) (local $f i32) (local $end i32)
    (local.set $i (i32.add (local.get $pos) (i32.const 1024)))
    (local.set $end (i32.add (local.get $len) (i32.const 1024)))
    (block $other
      ;; A record starts with log_time: YYYY-MM-DD HH:MM:SS.
      (br_if $other (i32.gt_u (i32.add (local.get $i) (i32.const 19)) (local.get $end)))
      (br_if $other (i32.eqz (call $timestamp (local.get $i))))
      (loop $field
        (i32.store (i32.shl (local.get $f) (i32.const 3)) (i32.sub (local.get $i) (i32.const 1024)))
        (br_if $other (i32.ge_u (local.get $i) (local.get $end)))
        (if (i32.eq (i32.load8_u (local.get $i)) (i32.const 0x22))
          (then
            ;; Quoted: to the quote that is not doubled; the byte after it tells.
            (local.set $i (i32.add (local.get $i) (i32.const 1)))
            (loop $quoted
              (br_if $other (i32.ge_u (local.get $i) (local.get $end)))
              (local.set $c (i32.load8_u (local.get $i)))
              (local.set $i (i32.add (local.get $i) (i32.const 1)))
              (br_if $quoted (i32.ne (local.get $c) (i32.const 0x22)))
              (br_if $other (i32.ge_u (local.get $i) (local.get $end)))
              (if (i32.eq (i32.load8_u (local.get $i)) (i32.const 0x22))
                (then
                  (local.set $i (i32.add (local.get $i) (i32.const 1)))
                  (br $quoted)))))
          (else
            ;; Unquoted: to a comma or a newline; a quote is damage.
            (loop $unquoted
              (br_if $other (i32.ge_u (local.get $i) (local.get $end)))
              (local.set $c (i32.load8_u (local.get $i)))
              (if (i32.and (i32.ne (local.get $c) (i32.const 0x2c)) (i32.ne (local.get $c) (i32.const 0x0a)))
                (then
                  (br_if $other (i32.eq (local.get $c) (i32.const 0x22)))
                  (local.set $i (i32.add (local.get $i) (i32.const 1)))
                  (br $unquoted))))))
        (i32.store offset=4 (i32.shl (local.get $f) (i32.const 3)) (i32.sub (local.get $i) (i32.const 1024)))
        (local.set $f (i32.add (local.get $f) (i32.const 1)))
        ;; The separator: a comma goes on to the next field (no record has more than 26), a newline
        ;; ends the record, anything else (text after a closing quote) is scanInto's to name.
        (local.set $c (i32.load8_u (local.get $i)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (if (i32.eq (local.get $c) (i32.const 0x2c))
          (then
            (br_if $field (i32.lt_u (local.get $f) (i32.const 26)))
            (br $other)))
        (br_if $other (i32.ne (local.get $c) (i32.const 0x0a))))
      ;; 23 (9.x to 12), 24 (13) or 26 (14 on) columns.
      (br_if $other
        (i32.and
          (i32.and (i32.ne (local.get $f) (i32.const 23)) (i32.ne (local.get $f) (i32.const 24)))
          (i32.ne (local.get $f) (i32.const 26))))
      (i32.store (i32.const 512) (local.get $f))
      (return (i32.sub (local.get $i) (i32.const 1024))))
    (i32.const -1))

  ;; Whether the 19 bytes at $at are `dddd-dd-dd dd:dd:dd` (d a digit).
  (func $timestamp (param $at i32) (result i32)
    (i32.and
      (i32.and
        (i32.and (call $digits (local.get $at) (i32.const 4)) (i32.eq (i32.load8_u offset=4 (local.get $at)) (i32.const 0x2d)))
        (i32.and (call $digits (i32.add (local.get $at) (i32.const 5)) (i32.const 2)) (i32.eq (i32.load8_u offset=7 (local.get $at)) (i32.const 0x2d))))
      (i32.and
        (i32.and
          (i32.and (call $digits (i32.add (local.get $at) (i32.const 8)) (i32.const 2)) (i32.eq (i32.load8_u offset=10 (local.get $at)) (i32.const 0x20)))
          (i32.and (call $digits (i32.add (local.get $at) (i32.const 11)) (i32.const 2)) (i32.eq (i32.load8_u offset=13 (local.get $at)) (i32.const 0x3a))))
        (i32.and
          (i32.and (call $digits (i32.add (local.get $at) (i32.const 14)) (i32.const 2)) (i32.eq (i32.load8_u offset=16 (local.get $at)) (i32.const 0x3a)))
          (call $digits (i32.add (local.get $at) (i32.const 17)) (i32.const 2))))))

  ;; Whether the $n bytes at $at are ASCII digits.
  (func $digits (param $at i32) (param $n i32) (result i32)
    (local $k i32)
    (loop $next
      (if (i32.gt_u (i32.sub (i32.load8_u (i32.add (local.get $at) (local.get $k))) (i32.const 0x30)) (i32.const 9))
        (then (return (i32.const 0))))
      (local.set $k (i32.add (local.get $k) (i32.const 1)))
      (br_if $next (i32.lt_u (local.get $k) (local.get $n))))
    (i32.const 1)))
