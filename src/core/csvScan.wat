;; The csvlog record scanner's inner loop, in WebAssembly: the one loop every byte of the log goes
;; through, about twice as fast here as the same loop in JavaScript. It does what scanInto
;; (csvRecord.ts) does for a well-formed record, and nothing else: any record it does not accept
;; whole (cut off by the end of the chunk, damaged, of an unknown column count) it leaves to
;; scanInto, which says why. The two agree on every record this one accepts (test/unit/csvScan).
;;
;; Memory: [0, 548) the field bounds of the record scanned last, as scanInto writes them (field i is
;; [i32 at 8i, i32 at 8i+4), quotes included; the field count at 512), then its class (see
;; $classify); [548, 560) what the last quiet pass did (see $pass); [1024, 132096) the quiet
;; sessions' table (see $pass); the chunk from 132096 on. Offsets given and returned are relative to
;; the chunk.
;;
;; It also tells the plainest statement texts, as plainKind (plainText.ts) does: the gate asks it of
;; nearly every statement of a busy log.
;;
;; Build: npm run build:wasm (compiles this file into csvScanWasm.ts).
(module
  ;; The caller makes the memory, as large as the chunk needs: growing it here would detach the
  ;; buffer the chunk's views are on (and, once any buffer is detached, V8 checks every typed array
  ;; access for it).
  (import "env" "memory" (memory 1))

  ;; Scans the record at chunk offset $pos, the chunk being $len bytes long. Returns the offset just
  ;; past its newline, or -1 where scanInto must look.
  (func $scan (export "scan") (param $pos i32) (param $len i32) (result i32)
    (local $i i32) (local $c i32) (local $f i32) (local $end i32) (local $m i32) (local $v v128)
    (local.set $i (i32.add (local.get $pos) (i32.const 132096)))
    (local.set $end (i32.add (local.get $len) (i32.const 132096)))
    (block $other
      ;; A record starts with log_time: YYYY-MM-DD HH:MM:SS.
      (br_if $other (i32.gt_u (i32.add (local.get $i) (i32.const 19)) (local.get $end)))
      (br_if $other (i32.eqz (call $timestamp (local.get $i))))
      (loop $field
        (i32.store (i32.shl (local.get $f) (i32.const 3)) (i32.sub (local.get $i) (i32.const 132096)))
        (br_if $other (i32.ge_u (local.get $i) (local.get $end)))
        (if (i32.eq (i32.load8_u (local.get $i)) (i32.const 0x22))
          (then
            ;; Quoted: to the quote that is not doubled; the byte after it tells.
            (local.set $i (i32.add (local.get $i) (i32.const 1)))
            (loop $quoted
              ;; To the next quote: sixteen bytes a step while there are sixteen, then one a step
              ;; ($findByte, written out: a call costs more than most fields are long).
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
            ;; Unquoted: to a comma or a newline; a quote is damage. Sixteen bytes a step while there
            ;; are sixteen, then one a step.
            (block $atStop
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
        (i32.store offset=4 (i32.shl (local.get $f) (i32.const 3)) (i32.sub (local.get $i) (i32.const 132096)))
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
      (call $classify)
      (return (i32.sub (local.get $i) (i32.const 132096))))
    (i32.const -1))

  ;; The quiet pass: the gate's common cases (judgeGate.ts), decided here, so that most records of a
  ;; busy log never come back to JavaScript. From chunk offset $pos, it scans records and passes over
  ;; those the gate would, of sessions the gate's JavaScript side does not own: DML, and a bare BEGIN
  ;; (held back in the session's slot) and the COMMIT or ROLLBACK that ends it. It stops at the first
  ;; record it does not pass over, at a record the scan does not accept, or at the end of what the
  ;; chunk holds. Returns where it stopped (the start of a record not passed over); at 548 that
  ;; record's end (-1 where the scan did not accept it; else its bounds and class are written), at
  ;; 552 how many records it passed over, at 556 how many of those were DML.
  ;;
  ;; The table: 2048 slots of 64 bytes from 1024, pid p's at slot (p * 0x9e3779b1 mod 2^32) >> 21.
  ;; A slot: +0 pid, +4 holding (a bare BEGIN held back: 1), +8 and +12 the session's start time (low,
  ;; high), +16 and +20 the held block's virtual xid (backend, local), +24 its file, +28 how many pids
  ;; of the slot the JavaScript side owns (while any, every record of the slot's pids goes to it), +32
  ;; and +40 the held BEGIN's offset and end in its file (f64). $base is the chunk's offset in file
  ;; $file.
  (func (export "pass") (param $pos i32) (param $len i32) (param $base f64) (param $file i32) (result i32)
    (local $end i32) (local $n i32) (local $dml i32) (local $kind i32) (local $pid i32) (local $slot i32)
    (local $backend i32) (local $local i32) (local $holding i32)
    (block $stop
      (loop $next
        (local.set $end (call $scan (local.get $pos) (local.get $len)))
        (br_if $stop (i32.lt_s (local.get $end) (i32.const 0)))
        ;; A statement of a plain kind, of a session id and a virtual xid of the server's form.
        (br_if $stop (i32.ne (i32.load (i32.const 516)) (i32.const 1)))
        (local.set $kind (i32.load (i32.const 524)))
        (br_if $stop (i32.eqz (local.get $kind)))
        (local.set $pid (i32.load (i32.const 528)))
        (br_if $stop (i32.lt_s (local.get $pid) (i32.const 0)))
        (local.set $backend (i32.load (i32.const 540)))
        (br_if $stop (i32.eq (local.get $backend) (i32.const -2)))
        (local.set $local (i32.load (i32.const 544)))
        (local.set $slot
          (i32.add (i32.const 1024)
            (i32.shl (i32.shr_u (i32.mul (local.get $pid) (i32.const 0x9e3779b1)) (i32.const 21)) (i32.const 6))))
        (br_if $stop (i32.load offset=28 (local.get $slot)))
        ;; What the slot holds back is this session's, or another's: then the gate's to sort out.
        (local.set $holding (i32.load offset=4 (local.get $slot)))
        (if (local.get $holding)
          (then
            (br_if $stop
              (i32.or
                (i32.ne (i32.load (local.get $slot)) (local.get $pid))
                (i32.or
                  (i32.ne (i32.load offset=8 (local.get $slot)) (i32.load (i32.const 532)))
                  (i32.ne (i32.load offset=12 (local.get $slot)) (i32.load (i32.const 536))))))
            ;; The block held back ended, plainly, where the session shows another transaction.
            (if (i32.and
                  (i32.ne (local.get $backend) (i32.const -1))
                  (i32.or
                    (i32.ne (local.get $backend) (i32.load offset=16 (local.get $slot)))
                    (i32.ne (local.get $local) (i32.load offset=20 (local.get $slot)))))
              (then
                (local.set $holding (i32.const 0))
                (i32.store offset=4 (local.get $slot) (i32.const 0))))))
        (if (i32.eq (local.get $kind) (i32.const 1))
          (then (local.set $dml (i32.add (local.get $dml) (i32.const 1))))
          (else
            (if (i32.eq (local.get $kind) (i32.const 2))
              (then
                ;; BEGIN: held back, unless one is held already.
                (br_if $stop (local.get $holding))
                (i32.store (local.get $slot) (local.get $pid))
                (i32.store offset=4 (local.get $slot) (i32.const 1))
                (i32.store offset=8 (local.get $slot) (i32.load (i32.const 532)))
                (i32.store offset=12 (local.get $slot) (i32.load (i32.const 536)))
                (i32.store offset=16 (local.get $slot) (local.get $backend))
                (i32.store offset=20 (local.get $slot) (local.get $local))
                (i32.store offset=24 (local.get $slot) (local.get $file))
                (f64.store offset=32 (local.get $slot) (f64.add (local.get $base) (f64.convert_i32_u (local.get $pos))))
                (f64.store offset=40 (local.get $slot) (f64.add (local.get $base) (f64.convert_i32_u (local.get $end)))))
              (else
                ;; COMMIT or ROLLBACK: of a block held back, it ends with nothing to send.
                (br_if $stop (i32.eqz (local.get $holding)))
                (i32.store offset=4 (local.get $slot) (i32.const 0))))))
        (local.set $n (i32.add (local.get $n) (i32.const 1)))
        (local.set $pos (local.get $end))
        (br $next)))
    (i32.store (i32.const 548) (local.get $end))
    (i32.store (i32.const 552) (local.get $n))
    (i32.store (i32.const 556) (local.get $dml))
    (local.get $pos))

  ;; Writes the class of the record just scanned beside its bounds, as classifyInto (recordClass.ts)
  ;; does: at 516 the class (0 not LOG, 1 a statement, 2 another LOG, 3 a capture record), at 520 where the statement's
  ;; text starts, at 524 its plain kind, at 528 the session's pid (-1: not `%lx.%x`), at 532 and 536
  ;; the low and high halves of its start time.
  (func $classify
    (local $s i32) (local $e i32) (local $text i32) (local $class i32) (local $i i32) (local $d i32)
    (local $time i64) (local $pid i32) (local $fetch i32) (local $several i32)
    (local.set $text (i32.const -1))
    ;; The severity (field 11) is LOG.
    (local.set $s (i32.add (i32.load (i32.const 88)) (i32.const 132096)))
    (if (i32.and
          (i32.eq (i32.sub (i32.add (i32.load (i32.const 92)) (i32.const 132096)) (local.get $s)) (i32.const 3))
          (i32.and
            (i32.eq (i32.load16_u (local.get $s)) (i32.const 0x4f4c))
            (i32.eq (i32.load8_u offset=2 (local.get $s)) (i32.const 0x47))))
      (then
        (local.set $class (i32.const 2))
        ;; The message (field 13), inside its quotes, is `statement: …` or `execute <name>: …` (not
        ;; `execute fetch from <portal>: …`, which repeats a statement already logged).
        (local.set $s (i32.add (i32.load (i32.const 104)) (i32.const 132097)))
        (local.set $e (i32.add (i32.load (i32.const 108)) (i32.const 132095)))
        ;; Only the server's own: no context (field 18) and no query (19), which RAISE LOG writes (see
        ;; loggedByServer in logRecord.ts).
        (if (i32.and
              (i32.eq (i32.load8_u (i32.sub (local.get $s) (i32.const 1))) (i32.const 0x22))
              (i32.and (call $emptyText (i32.const 18)) (call $emptyText (i32.const 19))))
          (then
            (if (i32.ge_s (i32.sub (local.get $e) (local.get $s)) (i32.const 11))
              (then
                (if (i32.and
                      (i64.eq (i64.load (local.get $s)) (i64.const 0x6e656d6574617473))
                      (i32.and
                        (i32.eq (i32.load16_u offset=8 (local.get $s)) (i32.const 0x3a74))
                        (i32.eq (i32.load8_u offset=10 (local.get $s)) (i32.const 0x20))))
                  (then (local.set $text (i32.add (local.get $s) (i32.const 11)))))))
            (if (i32.and
                  (i32.lt_s (local.get $text) (i32.const 0))
                  (i32.ge_s (i32.sub (local.get $e) (local.get $s)) (i32.const 8)))
              (then
                (if (i64.eq (i64.load (local.get $s)) (i64.const 0x2065747563657865))
                  (then
                    (local.set $i (i32.add (local.get $s) (i32.const 8)))
                    (block $found
                      (loop $colon
                        (br_if $found (i32.ge_u (i32.add (local.get $i) (i32.const 1)) (local.get $e)))
                        (if (i32.eq (i32.load16_u (local.get $i)) (i32.const 0x203a))
                          (then
                            (local.set $fetch (call $fetchFrom (i32.add (local.get $s) (i32.const 8)) (local.get $i)))
                            (local.set $text (i32.add (local.get $i) (i32.const 2)))
                            (local.set $several (call $colonSpace (local.get $text) (local.get $e)))
                            (br $found)))
                        (local.set $i (i32.add (local.get $i) (i32.const 1)))
                        (br $colon)))))))))
        ;; A message that starts with `pg-ddl-sync capture 1 `: class 3 (see CAPTURE in recordClass.ts).
        (if (i32.and
              (i32.eq (i32.load8_u (i32.sub (local.get $s) (i32.const 1))) (i32.const 0x22))
              (i32.ge_s (i32.sub (local.get $e) (local.get $s)) (i32.const 22)))
          (then
            (if (i32.and
                  (i32.and
                    (i64.eq (i64.load (local.get $s)) (i64.const 0x732d6c64642d6770))
                    (i64.eq (i64.load offset=8 (local.get $s)) (i64.const 0x7470616320636e79)))
                  (i32.and
                    (i32.eq (i32.load offset=16 (local.get $s)) (i32.const 0x20657275))
                    (i32.eq (i32.load16_u offset=20 (local.get $s)) (i32.const 0x2031))))
              (then (local.set $class (i32.const 3))))))
        (if (i32.ge_s (local.get $text) (i32.const 0))
          (then
            (local.set $class (i32.const 1))
            (i32.store (i32.const 524)
              (call $plain (i32.sub (local.get $text) (i32.const 132096)) (i32.sub (local.get $e) (i32.const 132096))))
            ;; An `execute` the gate may not pass over (as classifyInto in recordClass.ts): its name may
            ;; end at a later ": ", or its `fetch from` may be a name's and not a repeat. A repeat of a
            ;; plain query is no statement of its own.
            (if (local.get $several)
              (then (i32.store (i32.const 524) (i32.const 0)))
              (else
                (if (local.get $fetch)
                  (then
                    (if (i32.eq (i32.load (i32.const 524)) (i32.const 1))
                      (then (local.set $class (i32.const 2)) (local.set $text (i32.const -1))))
                    (i32.store (i32.const 524) (i32.const 0))))))))))
    (i32.store (i32.const 516) (local.get $class))
    (i32.store (i32.const 520)
      (select (i32.sub (local.get $text) (i32.const 132096)) (i32.const -1) (i32.ge_s (local.get $text) (i32.const 0))))
    (if (i32.ne (local.get $class) (i32.const 1)) (then (i32.store (i32.const 524) (i32.const 0))))
    ;; The session id (field 5): the start time and the pid, in lower-case hex, with a dot between.
    (local.set $s (i32.add (i32.load (i32.const 40)) (i32.const 132096)))
    (local.set $e (i32.add (i32.load (i32.const 44)) (i32.const 132096)))
    (local.set $pid (i32.const -1))
    (local.set $i (local.get $s))
    (block $bad
      (block $dot
        (loop $digits
          (br_if $dot (i32.ge_u (local.get $i) (local.get $e)))
          (br_if $dot (i32.eq (i32.load8_u (local.get $i)) (i32.const 0x2e)))
          (local.set $d (i32.load8_u (local.get $i)))
          (local.set $d (select (i32.sub (local.get $d) (i32.const 0x30)) (i32.sub (local.get $d) (i32.const 0x57))
                                (i32.le_u (i32.sub (local.get $d) (i32.const 0x30)) (i32.const 9))))
          (br_if $bad (i32.gt_u (local.get $d) (i32.const 15)))
          (br_if $bad (i64.ge_u (local.get $time) (i64.const 0x10000000000)))
          (local.set $time (i64.add (i64.shl (local.get $time) (i64.const 4)) (i64.extend_i32_u (local.get $d))))
          (local.set $i (i32.add (local.get $i) (i32.const 1)))
          (br $digits)))
      (br_if $bad (i32.eq (local.get $i) (local.get $s)))
      (br_if $bad (i32.ge_u (local.get $i) (i32.sub (local.get $e) (i32.const 1))))
      (local.set $pid (i32.const 0))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (loop $digits
        (local.set $d (i32.load8_u (local.get $i)))
        (local.set $d (select (i32.sub (local.get $d) (i32.const 0x30)) (i32.sub (local.get $d) (i32.const 0x57))
                              (i32.le_u (i32.sub (local.get $d) (i32.const 0x30)) (i32.const 9))))
        (if (i32.gt_u (local.get $d) (i32.const 15)) (then (local.set $pid (i32.const -1)) (br $bad)))
        (local.set $pid (i32.add (i32.shl (local.get $pid) (i32.const 4)) (local.get $d)))
        (if (i32.ge_u (local.get $pid) (i32.const 0x400000)) (then (local.set $pid (i32.const -1)) (br $bad)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br_if $digits (i32.lt_u (local.get $i) (local.get $e)))))
    (i32.store (i32.const 528) (local.get $pid))
    (if (i32.lt_s (local.get $pid) (i32.const 0)) (then (local.set $time (i64.const 0))))
    (i32.store (i32.const 532) (i32.wrap_i64 (local.get $time)))
    (i32.store (i32.const 536) (i32.wrap_i64 (i64.shr_u (local.get $time) (i64.const 32))))
    (call $vxid))

  ;; The virtual xid (field 9), `backend/local` in decimal: at 540 the backend (-1 for none, -2 for
  ;; what is not of that form), at 544 the local xid (32 bits).
  (func $vxid
    (local $s i32) (local $e i32) (local $i i32) (local $d i32) (local $backend i32) (local $local i64)
    (local.set $s (i32.add (i32.load (i32.const 72)) (i32.const 132096)))
    (local.set $e (i32.add (i32.load (i32.const 76)) (i32.const 132096)))
    (i32.store (i32.const 544) (i32.const 0))
    (if (i32.eq (local.get $s) (local.get $e))
      (then (i32.store (i32.const 540) (i32.const -1)) (return)))
    (i32.store (i32.const 540) (i32.const -2))
    (local.set $i (local.get $s))
    (block $slash
      (loop $digits
        (br_if $slash (i32.ge_u (local.get $i) (local.get $e)))
        (br_if $slash (i32.eq (i32.load8_u (local.get $i)) (i32.const 0x2f)))
        (local.set $d (i32.sub (i32.load8_u (local.get $i)) (i32.const 0x30)))
        (if (i32.gt_u (local.get $d) (i32.const 9)) (then (return)))
        (if (i32.ge_u (local.get $backend) (i32.const 0x8000000)) (then (return)))
        (local.set $backend (i32.add (i32.mul (local.get $backend) (i32.const 10)) (local.get $d)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $digits)))
    (if (i32.eq (local.get $i) (local.get $s)) (then (return)))
    (if (i32.ge_u (local.get $i) (i32.sub (local.get $e) (i32.const 1))) (then (return)))
    (local.set $i (i32.add (local.get $i) (i32.const 1)))
    (loop $digits
      (local.set $d (i32.sub (i32.load8_u (local.get $i)) (i32.const 0x30)))
      (if (i32.gt_u (local.get $d) (i32.const 9)) (then (return)))
      (local.set $local (i64.add (i64.mul (local.get $local) (i64.const 10)) (i64.extend_i32_u (local.get $d))))
      (if (i64.ge_u (local.get $local) (i64.const 0x100000000)) (then (return)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $digits (i32.lt_u (local.get $i) (local.get $e))))
    (i32.store (i32.const 540) (local.get $backend))
    (i32.store (i32.const 544) (i32.wrap_i64 (local.get $local))))

  ;; Whether the prepared statement's name at [$a, $b) starts with `fetch from `.
  ;; Whether text field $i is empty or missing, its quotes left out (textLength in logRecord.ts).
  (func $emptyText (param $i i32) (result i32)
    (local $s i32) (local $n i32)
    (if (i32.ge_u (local.get $i) (i32.load (i32.const 512))) (then (return (i32.const 1))))
    (local.set $s (i32.load (i32.shl (local.get $i) (i32.const 3))))
    (local.set $n (i32.sub (i32.load offset=4 (i32.shl (local.get $i) (i32.const 3))) (local.get $s)))
    (if (i32.eqz (local.get $n)) (then (return (i32.const 1))))
    (i32.and
      (i32.eq (local.get $n) (i32.const 2))
      (i32.eq (i32.load8_u (i32.add (local.get $s) (i32.const 132096))) (i32.const 0x22))))

  ;; Whether a ": " starts in [$from, $to - 1).
  (func $colonSpace (param $from i32) (param $to i32) (result i32)
    (block $none
      (loop $next
        (br_if $none (i32.ge_u (i32.add (local.get $from) (i32.const 1)) (local.get $to)))
        (if (i32.eq (i32.load16_u (local.get $from)) (i32.const 0x203a)) (then (return (i32.const 1))))
        (local.set $from (i32.add (local.get $from) (i32.const 1)))
        (br $next)))
    (i32.const 0))

  (func $fetchFrom (param $a i32) (param $b i32) (result i32)
    (if (i32.lt_s (i32.sub (local.get $b) (local.get $a)) (i32.const 11)) (then (return (i32.const 0))))
    (i32.and
      (i64.eq (i64.load (local.get $a)) (i64.const 0x7266206863746566))
      (i32.and
        (i32.eq (i32.load16_u offset=8 (local.get $a)) (i32.const 0x6d6f))
        (i32.eq (i32.load8_u offset=10 (local.get $a)) (i32.const 0x20)))))


;; What the text at chunk offsets [$from, $to) is, as plainKind (plainText.ts) tells it: 0 none of
  ;; the plainest, 1 DML, 2 BEGIN, 3 COMMIT, 4 ROLLBACK.
  (func $plain (export "plain") (param $from i32) (param $to i32) (result i32)
    (local $i i32) (local $b i32) (local $w i64) (local $end i32) (local $kind i32) (local $at i32) (local $second i32)
    (local.set $from (i32.add (local.get $from) (i32.const 132096)))
    (local.set $to (i32.add (local.get $to) (i32.const 132096)))
    ;; White space off both ends.
    (block $trimmed
      (loop $front
        (br_if $trimmed (i32.ge_u (local.get $from) (local.get $to)))
        (local.set $b (i32.load8_u (local.get $from)))
        (br_if $trimmed (i32.and (i32.ne (local.get $b) (i32.const 0x20)) (i32.gt_u (i32.sub (local.get $b) (i32.const 0x09)) (i32.const 4))))
        (local.set $from (i32.add (local.get $from) (i32.const 1)))
        (br $front)))
    (block $trimmed
      (loop $back
        (br_if $trimmed (i32.ge_u (local.get $from) (local.get $to)))
        (local.set $b (i32.load8_u (i32.sub (local.get $to) (i32.const 1))))
        (br_if $trimmed (i32.and (i32.ne (local.get $b) (i32.const 0x20)) (i32.gt_u (i32.sub (local.get $b) (i32.const 0x09)) (i32.const 4))))
        (local.set $to (i32.sub (local.get $to) (i32.const 1)))
        (br $back)))
    ;; The first word: its letters, lower-cased, packed into $w (none of the words is longer than 8).
    (local.set $i (local.get $from))
    (block $done
      (loop $letters
        (br_if $done (i32.ge_u (local.get $i) (local.get $to)))
        (local.set $b (i32.load8_u (local.get $i)))
        ;; An ASCII letter (as $letter, written out: this loop runs for nearly every statement).
        (br_if $done (i32.gt_u (i32.sub (i32.or (local.get $b) (i32.const 0x20)) (i32.const 0x61)) (i32.const 25)))
        (if (i32.lt_u (i32.sub (local.get $i) (local.get $from)) (i32.const 8))
          (then
            (local.set $w
              (i64.or (local.get $w)
                (i64.shl
                  (i64.extend_i32_u (i32.or (local.get $b) (i32.const 0x20)))
                  (i64.extend_i32_u (i32.shl (i32.sub (local.get $i) (local.get $from)) (i32.const 3))))))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $letters)))
    (local.set $end (local.get $i))
    (if (i32.gt_u (i32.sub (local.get $end) (local.get $from)) (i32.const 8)) (then (return (i32.const 0))))
    (local.set $kind (call $wordKind (local.get $w)))
    (if (i32.eqz (local.get $kind)) (then (return (i32.const 0))))
    ;; One statement: a `;` only at the very end.
    (if (i32.lt_u (call $findByte (local.get $end) (i32.sub (local.get $to) (i32.const 1)) (i32.const 0x3b))
                  (i32.sub (local.get $to) (i32.const 1)))
      (then (return (i32.const 0))))
    (if (i32.eq (local.get $kind) (i32.const 1))
      (then
        ;; `\b` after the word: a word character would make it another word.
        (if (i32.lt_u (local.get $end) (local.get $to))
          (then (if (call $wordChar (i32.load8_u (local.get $end))) (then (return (i32.const 0))))))
        ;; A SELECT with INTO anywhere makes a table.
        (if (i64.eq (local.get $w) (i64.const 0x7463656c6573))
          (then (if (call $hasInto (local.get $end) (local.get $to)) (then (return (i32.const 0))))))
        (return (i32.const 1))))
    ;; A verb: then white space, WORK or TRANSACTION (START takes only TRANSACTION), white space, `;`.
    (local.set $at (call $spaces (local.get $end) (local.get $to)))
    (local.set $second (local.get $at))
    (if (i32.gt_u (local.get $at) (local.get $end))
      (then
        (block $done
          (loop $letters
            (br_if $done (i32.ge_u (local.get $second) (local.get $to)))
            (br_if $done (i32.eqz (call $letter (i32.load8_u (local.get $second)))))
            (local.set $second (i32.add (local.get $second) (i32.const 1)))
            (br $letters)))))
    (if (i32.or
          (call $isTransaction (local.get $at) (local.get $second))
          (i32.and (i64.ne (local.get $w) (i64.const 0x7472617473)) (call $isWork (local.get $at) (local.get $second))))
      (then (local.set $at (local.get $second)))
      (else (if (i64.eq (local.get $w) (i64.const 0x7472617473)) (then (return (i32.const 0))))))
    (local.set $at (call $spaces (local.get $at) (local.get $to)))
    (if (i32.eq (local.get $at) (local.get $to)) (then (return (local.get $kind))))
    (if (i32.and
          (i32.eq (local.get $at) (i32.sub (local.get $to) (i32.const 1)))
          (i32.eq (i32.load8_u (local.get $at)) (i32.const 0x3b)))
      (then (return (local.get $kind))))
    (i32.const 0))

  ;; The kind of a first word packed as plain does (letters lower-cased, the first in the low byte).
  (func $wordKind (param $w i64) (result i32)
    ;; insert, update, delete, select, values, fetch, move, show
    (if (i32.or
          (i32.or
            (i32.or (i64.eq (local.get $w) (i64.const 0x747265736e69)) (i64.eq (local.get $w) (i64.const 0x657461647075)))
            (i32.or (i64.eq (local.get $w) (i64.const 0x6574656c6564)) (i64.eq (local.get $w) (i64.const 0x7463656c6573))))
          (i32.or
            (i32.or (i64.eq (local.get $w) (i64.const 0x7365756c6176)) (i64.eq (local.get $w) (i64.const 0x6863746566)))
            (i32.or (i64.eq (local.get $w) (i64.const 0x65766f6d)) (i64.eq (local.get $w) (i64.const 0x776f6873)))))
      (then (return (i32.const 1))))
    ;; begin, start
    (if (i32.or (i64.eq (local.get $w) (i64.const 0x6e69676562)) (i64.eq (local.get $w) (i64.const 0x7472617473)))
      (then (return (i32.const 2))))
    ;; end, commit
    (if (i32.or (i64.eq (local.get $w) (i64.const 0x646e65)) (i64.eq (local.get $w) (i64.const 0x74696d6d6f63)))
      (then (return (i32.const 3))))
    ;; rollback, abort
    (if (i32.or (i64.eq (local.get $w) (i64.const 0x6b6361626c6c6f72)) (i64.eq (local.get $w) (i64.const 0x74726f6261)))
      (then (return (i32.const 4))))
    (i32.const 0))

  ;; Whether [$a, $b), letters all, is TRANSACTION in any case.
  (func $isTransaction (param $a i32) (param $b i32) (result i32)
    (if (i32.ne (i32.sub (local.get $b) (local.get $a)) (i32.const 11)) (then (return (i32.const 0))))
    (i32.and
      (i64.eq (i64.or (i64.load (local.get $a)) (i64.const 0x2020202020202020)) (i64.const 0x746361736e617274))
      (i32.and
        (i32.eq (i32.or (i32.load16_u offset=8 (local.get $a)) (i32.const 0x2020)) (i32.const 0x6f69))
        (i32.eq (i32.or (i32.load8_u offset=10 (local.get $a)) (i32.const 0x20)) (i32.const 0x6e)))))

  ;; Whether [$a, $b), letters all, is WORK in any case.
  (func $isWork (param $a i32) (param $b i32) (result i32)
    (if (i32.ne (i32.sub (local.get $b) (local.get $a)) (i32.const 4)) (then (return (i32.const 0))))
    (i32.eq (i32.or (i32.load (local.get $a)) (i32.const 0x20202020)) (i32.const 0x6b726f77)))

  ;; Whether [$from, $to) holds INTO, in any case.
  (func $hasInto (param $from i32) (param $to i32) (result i32)
    (block $done
      (loop $next
        (br_if $done (i32.gt_u (i32.add (local.get $from) (i32.const 4)) (local.get $to)))
        (if (i32.eq (i32.or (i32.load (local.get $from)) (i32.const 0x20202020)) (i32.const 0x6f746e69))
          (then (return (i32.const 1))))
        (local.set $from (i32.add (local.get $from) (i32.const 1)))
        (br $next)))
    (i32.const 0))

  ;; Where the white space from $at on ends, at most $to.
  (func $spaces (param $at i32) (param $to i32) (result i32)
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $at) (local.get $to)))
        (br_if $done (i32.eqz (call $space (i32.load8_u (local.get $at)))))
        (local.set $at (i32.add (local.get $at) (i32.const 1)))
        (br $next)))
    (local.get $at))

  ;; The white space PostgreSQL's scanner skips: space, \t, \n, \v, \f, \r.
  (func $space (param $c i32) (result i32)
    (i32.or (i32.eq (local.get $c) (i32.const 0x20)) (i32.le_u (i32.sub (local.get $c) (i32.const 0x09)) (i32.const 4))))

  ;; An ASCII letter.
  (func $letter (param $c i32) (result i32)
    (i32.le_u (i32.sub (i32.or (local.get $c) (i32.const 0x20)) (i32.const 0x61)) (i32.const 25)))

  ;; A character of `\w`: ASCII letter, digit or `_`.
  (func $wordChar (param $c i32) (result i32)
    (i32.or
      (call $letter (local.get $c))
      (i32.or (i32.le_u (i32.sub (local.get $c) (i32.const 0x30)) (i32.const 9)) (i32.eq (local.get $c) (i32.const 0x5f)))))

  ;; Where the first byte $b at or after $i is, $to if none is before it: sixteen bytes a step, then
  ;; one a step for the rest.
  (func $findByte (param $i i32) (param $to i32) (param $b i32) (result i32)
    (local $want v128) (local $mask i32)
    (local.set $want (i8x16.splat (local.get $b)))
    (block $tail
      (loop $wide
        (br_if $tail (i32.gt_s (i32.add (local.get $i) (i32.const 16)) (local.get $to)))
        (local.set $mask (i8x16.bitmask (i8x16.eq (v128.load (local.get $i)) (local.get $want))))
        (if (local.get $mask) (then (return (i32.add (local.get $i) (i32.ctz (local.get $mask))))))
        (local.set $i (i32.add (local.get $i) (i32.const 16)))
        (br $wide)))
    (block $done
      (loop $narrow
        (br_if $done (i32.ge_s (local.get $i) (local.get $to)))
        (br_if $done (i32.eq (i32.load8_u (local.get $i)) (local.get $b)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $narrow)))
    (local.get $i))

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
