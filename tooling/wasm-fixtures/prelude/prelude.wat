;; The common prelude of every WAT fixture: host imports, memory, a bump
;; allocator (cabi_realloc), canonical-ABI return helpers and a tiny parser for
;; params-json. The builder (src/build.ts) wraps it as
;;   (module <fixture imports.wat> <this prelude> <fixture main.wat> <defaults> <exports>)
;;
;; Memory layout (linear memory 0):
;;   64..79     $RET: the return area of the plugin exports (result / string)
;;   96..111    $IRET: the return area handed to host imports (retptr)
;;   128..255   $ARGS: up to 16 parsed params-json items, (ptr, len) each; len -1 = null
;;   256..1023  prelude strings
;;   1024..8191 free for the fixture's own (data ...) segments
;;   8192..     describe() JSON, written by the builder
;;   $heap_base.. the bump heap; it is reset after every export call (post-return)

;; ---- host imports: core signatures as wit-component lowers them ----
;; http-request(method, url, headers: list<tuple<string,string>>, body: option<string>, retptr)
(import "host" "http-request" (func $host_http (param i32 i32 i32 i32 i32 i32 i32 i32 i32 i32)))
;; read-file(path, retptr) -> result<string,string> at retptr: u8 tag, (ptr, len) at +4
(import "host" "read-file" (func $host_read (param i32 i32 i32)))
;; write-file(path, content, retptr) -> result<_,string> at retptr
(import "host" "write-file" (func $host_write (param i32 i32 i32 i32 i32)))
;; get-env(name, retptr) -> option<string> at retptr: u8 tag, (ptr, len) at +4
(import "host" "get-env" (func $host_env (param i32 i32 i32)))
;; log(level: u8, message)
(import "host" "log" (func $host_log (param i32 i32 i32)))

(memory $mem 2)

(global $RET i32 (i32.const 64))
(global $IRET i32 (i32.const 96))
(global $ARGS i32 (i32.const 128))
(global $heap (mut i32) (i32.const 0))
;; length of the string produced by the last $itoa / $concat
(global $rlen (mut i32) (i32.const 0))
;; parser cursor
(global $pos (mut i32) (i32.const 0))
(global $pend (mut i32) (i32.const 0))

(data (i32.const 256) "bad params-json: expected a JSON array of strings, integers or null")
(global $BAD_PARAMS i32 (i32.const 256))
(global $BAD_PARAMS_LEN i32 (i32.const 67))
(data (i32.const 336) "unknown tool")
(global $UNKNOWN_TOOL i32 (i32.const 336))
(global $UNKNOWN_TOOL_LEN i32 (i32.const 12))
(data (i32.const 352) "ok")
(global $OK i32 (i32.const 352))

;; ---- allocator ----
(func $alloc (param $n i32) (result i32)
  (local $p i32) (local $end i32) (local $have i32)
  (if (i32.eqz (global.get $heap)) (then (global.set $heap (global.get $heap_base))))
  (local.set $p (i32.and (i32.add (global.get $heap) (i32.const 7)) (i32.const -8)))
  (local.set $end (i32.add (local.get $p) (local.get $n)))
  (local.set $have (i32.shl (memory.size) (i32.const 16)))
  (if (i32.gt_u (local.get $end) (local.get $have))
    (then
      (if (i32.eq
            (memory.grow (i32.shr_u (i32.add (i32.sub (local.get $end) (local.get $have)) (i32.const 65535)) (i32.const 16)))
            (i32.const -1))
        (then unreachable))))
  (global.set $heap (local.get $end))
  (local.get $p))

(func $memcpy (param $dst i32) (param $src i32) (param $n i32)
  (block $done
    (loop $next
      (br_if $done (i32.eqz (local.get $n)))
      (i32.store8 (local.get $dst) (i32.load8_u (local.get $src)))
      (local.set $dst (i32.add (local.get $dst) (i32.const 1)))
      (local.set $src (i32.add (local.get $src) (i32.const 1)))
      (local.set $n (i32.sub (local.get $n) (i32.const 1)))
      (br $next))))

(func $cabi_realloc (param $old i32) (param $old_size i32) (param $align i32) (param $new_size i32) (result i32)
  (local $p i32)
  (local.set $p (call $alloc (local.get $new_size)))
  (if (local.get $old)
    (then (call $memcpy (local.get $p) (local.get $old)
      (select (local.get $old_size) (local.get $new_size) (i32.lt_u (local.get $old_size) (local.get $new_size))))))
  (local.get $p))

;; post-return of every export: drop everything allocated during the call
(func $post_return (param $ret i32)
  (global.set $heap (global.get $heap_base)))

;; ---- strings ----
(func $str_eq (param $a i32) (param $al i32) (param $b i32) (param $bl i32) (result i32)
  (if (i32.ne (local.get $al) (local.get $bl)) (then (return (i32.const 0))))
  (block $done
    (loop $next
      (br_if $done (i32.eqz (local.get $al)))
      (if (i32.ne (i32.load8_u (local.get $a)) (i32.load8_u (local.get $b))) (then (return (i32.const 0))))
      (local.set $a (i32.add (local.get $a) (i32.const 1)))
      (local.set $b (i32.add (local.get $b) (i32.const 1)))
      (local.set $al (i32.sub (local.get $al) (i32.const 1)))
      (br $next)))
  (i32.const 1))

;; a new heap string a ++ b; its length is left in $rlen
(func $concat (param $a i32) (param $al i32) (param $b i32) (param $bl i32) (result i32)
  (local $p i32)
  (local.set $p (call $alloc (i32.add (local.get $al) (local.get $bl))))
  (call $memcpy (local.get $p) (local.get $a) (local.get $al))
  (call $memcpy (i32.add (local.get $p) (local.get $al)) (local.get $b) (local.get $bl))
  (global.set $rlen (i32.add (local.get $al) (local.get $bl)))
  (local.get $p))

;; decimal text of an unsigned i32 on the heap; its length is left in $rlen
(func $itoa (param $n i32) (result i32)
  (local $buf i32) (local $i i32) (local $p i32) (local $len i32)
  (local.set $buf (call $alloc (i32.const 24)))
  (local.set $i (i32.add (local.get $buf) (i32.const 23)))
  (loop $next
    (local.set $i (i32.sub (local.get $i) (i32.const 1)))
    (i32.store8 (local.get $i) (i32.add (i32.const 48) (i32.rem_u (local.get $n) (i32.const 10))))
    (local.set $n (i32.div_u (local.get $n) (i32.const 10)))
    (br_if $next (local.get $n)))
  (global.set $rlen (i32.sub (i32.add (local.get $buf) (i32.const 23)) (local.get $i)))
  (local.get $i))

;; ---- canonical-ABI returns through $RET ----
;; result<string, string>::ok(s)
(func $ok (param $p i32) (param $l i32) (result i32)
  (i32.store8 (global.get $RET) (i32.const 0))
  (i32.store offset=4 (global.get $RET) (local.get $p))
  (i32.store offset=8 (global.get $RET) (local.get $l))
  (global.get $RET))
;; result<_, string>::err(s) and result<string, string>::err(s)
(func $err (param $p i32) (param $l i32) (result i32)
  (i32.store8 (global.get $RET) (i32.const 1))
  (i32.store offset=4 (global.get $RET) (local.get $p))
  (i32.store offset=8 (global.get $RET) (local.get $l))
  (global.get $RET))
;; result<_, string>::ok
(func $ok_unit (result i32)
  (i32.store8 (global.get $RET) (i32.const 0))
  (global.get $RET))
;; a plain string return
(func $ret_str (param $p i32) (param $l i32) (result i32)
  (i32.store (global.get $RET) (local.get $p))
  (i32.store offset=4 (global.get $RET) (local.get $l))
  (global.get $RET))
(func $ok_text (result i32) (call $ok (global.get $OK) (i32.const 2)))
(func $bad_params (result i32) (call $err (global.get $BAD_PARAMS) (global.get $BAD_PARAMS_LEN)))
(func $unknown_tool (result i32) (call $err (global.get $UNKNOWN_TOOL) (global.get $UNKNOWN_TOOL_LEN)))

;; ---- the result of the last host import, read from $IRET ----
(func $iret_tag (result i32) (i32.load8_u (global.get $IRET)))
(func $iret_ptr (result i32) (i32.load offset=4 (global.get $IRET)))
(func $iret_len (result i32) (i32.load offset=8 (global.get $IRET)))
;; pass a result<string, string> from a host import through as this call's result
(func $pass_result (result i32)
  (if (result i32) (call $iret_tag)
    (then (call $err (call $iret_ptr) (call $iret_len)))
    (else (call $ok (call $iret_ptr) (call $iret_len)))))

;; ---- params-json: a JSON array of strings, unsigned integers or null ----
;; (a bare string or integer counts as a one-item array). Strings are decoded
;; (all JSON escapes, \uXXXX with surrogate pairs) into heap copies; integers
;; are kept as their digit text. Returns the item count, or -1 when malformed.
(func $arg_ptr (param $i i32) (result i32) (i32.load (i32.add (global.get $ARGS) (i32.shl (local.get $i) (i32.const 3)))))
(func $arg_len (param $i i32) (result i32) (i32.load offset=4 (i32.add (global.get $ARGS) (i32.shl (local.get $i) (i32.const 3)))))
;; the item as an unsigned decimal integer, or -1 if it is not one
(func $arg_int (param $i i32) (result i32)
  (local $p i32) (local $l i32) (local $n i32) (local $c i32)
  (local.set $p (call $arg_ptr (local.get $i)))
  (local.set $l (call $arg_len (local.get $i)))
  (if (i32.le_s (local.get $l) (i32.const 0)) (then (return (i32.const -1))))
  (block $done
    (loop $next
      (br_if $done (i32.eqz (local.get $l)))
      (local.set $c (i32.sub (i32.load8_u (local.get $p)) (i32.const 48)))
      (if (i32.gt_u (local.get $c) (i32.const 9)) (then (return (i32.const -1))))
      (local.set $n (i32.add (i32.mul (local.get $n) (i32.const 10)) (local.get $c)))
      (local.set $p (i32.add (local.get $p) (i32.const 1)))
      (local.set $l (i32.sub (local.get $l) (i32.const 1)))
      (br $next)))
  (local.get $n))

(func $peek (result i32)
  (if (result i32) (i32.lt_u (global.get $pos) (global.get $pend))
    (then (i32.load8_u (global.get $pos)))
    (else (i32.const -1))))
(func $skip_ws
  (local $c i32)
  (block $done
    (loop $next
      (local.set $c (call $peek))
      (br_if $done (i32.eqz (i32.or (i32.or (i32.eq (local.get $c) (i32.const 32)) (i32.eq (local.get $c) (i32.const 9)))
                                    (i32.or (i32.eq (local.get $c) (i32.const 10)) (i32.eq (local.get $c) (i32.const 13))))))
      (global.set $pos (i32.add (global.get $pos) (i32.const 1)))
      (br $next))))
(func $hex (param $c i32) (result i32)
  (if (i32.le_u (i32.sub (local.get $c) (i32.const 48)) (i32.const 9)) (then (return (i32.sub (local.get $c) (i32.const 48)))))
  (local.set $c (i32.or (local.get $c) (i32.const 32)))
  (if (i32.le_u (i32.sub (local.get $c) (i32.const 97)) (i32.const 5)) (then (return (i32.sub (local.get $c) (i32.const 87)))))
  (i32.const -1))
;; four hex digits at $pos, or -1
(func $hex4 (result i32)
  (local $v i32) (local $i i32) (local $d i32)
  (if (i32.gt_u (i32.add (global.get $pos) (i32.const 4)) (global.get $pend)) (then (return (i32.const -1))))
  (loop $next
    (local.set $d (call $hex (i32.load8_u (global.get $pos))))
    (if (i32.lt_s (local.get $d) (i32.const 0)) (then (return (i32.const -1))))
    (local.set $v (i32.or (i32.shl (local.get $v) (i32.const 4)) (local.get $d)))
    (global.set $pos (i32.add (global.get $pos) (i32.const 1)))
    (local.set $i (i32.add (local.get $i) (i32.const 1)))
    (br_if $next (i32.lt_u (local.get $i) (i32.const 4))))
  (local.get $v))
;; UTF-8 encode $cp at $out; returns the new $out
(func $put_utf8 (param $out i32) (param $cp i32) (result i32)
  (if (i32.lt_u (local.get $cp) (i32.const 0x80))
    (then (i32.store8 (local.get $out) (local.get $cp)) (return (i32.add (local.get $out) (i32.const 1)))))
  (if (i32.lt_u (local.get $cp) (i32.const 0x800))
    (then
      (i32.store8 (local.get $out) (i32.or (i32.const 0xc0) (i32.shr_u (local.get $cp) (i32.const 6))))
      (i32.store8 offset=1 (local.get $out) (i32.or (i32.const 0x80) (i32.and (local.get $cp) (i32.const 0x3f))))
      (return (i32.add (local.get $out) (i32.const 2)))))
  (if (i32.lt_u (local.get $cp) (i32.const 0x10000))
    (then
      (i32.store8 (local.get $out) (i32.or (i32.const 0xe0) (i32.shr_u (local.get $cp) (i32.const 12))))
      (i32.store8 offset=1 (local.get $out) (i32.or (i32.const 0x80) (i32.and (i32.shr_u (local.get $cp) (i32.const 6)) (i32.const 0x3f))))
      (i32.store8 offset=2 (local.get $out) (i32.or (i32.const 0x80) (i32.and (local.get $cp) (i32.const 0x3f))))
      (return (i32.add (local.get $out) (i32.const 3)))))
  (i32.store8 (local.get $out) (i32.or (i32.const 0xf0) (i32.shr_u (local.get $cp) (i32.const 18))))
  (i32.store8 offset=1 (local.get $out) (i32.or (i32.const 0x80) (i32.and (i32.shr_u (local.get $cp) (i32.const 12)) (i32.const 0x3f))))
  (i32.store8 offset=2 (local.get $out) (i32.or (i32.const 0x80) (i32.and (i32.shr_u (local.get $cp) (i32.const 6)) (i32.const 0x3f))))
  (i32.store8 offset=3 (local.get $out) (i32.or (i32.const 0x80) (i32.and (local.get $cp) (i32.const 0x3f))))
  (i32.add (local.get $out) (i32.const 4)))

;; one item at $pos into ARGS[$i]; returns 0 or -1
(func $parse_item (param $i i32) (result i32)
  (local $c i32) (local $buf i32) (local $out i32) (local $cp i32) (local $lo i32) (local $start i32) (local $slot i32)
  (local.set $slot (i32.add (global.get $ARGS) (i32.shl (local.get $i) (i32.const 3))))
  (local.set $c (call $peek))
  ;; null
  (if (i32.eq (local.get $c) (i32.const 110))
    (then
      (if (i32.gt_u (i32.add (global.get $pos) (i32.const 4)) (global.get $pend)) (then (return (i32.const -1))))
      (if (i32.eqz (call $str_eq (global.get $pos) (i32.const 4) (i32.const 360) (i32.const 4))) (then (return (i32.const -1))))
      (global.set $pos (i32.add (global.get $pos) (i32.const 4)))
      (i32.store (local.get $slot) (i32.const 0))
      (i32.store offset=4 (local.get $slot) (i32.const -1))
      (return (i32.const 0))))
  ;; unsigned integer
  (if (i32.le_u (i32.sub (local.get $c) (i32.const 48)) (i32.const 9))
    (then
      (local.set $start (global.get $pos))
      (block $done
        (loop $next
          (br_if $done (i32.gt_u (i32.sub (call $peek) (i32.const 48)) (i32.const 9)))
          (global.set $pos (i32.add (global.get $pos) (i32.const 1)))
          (br $next)))
      (i32.store (local.get $slot) (local.get $start))
      (i32.store offset=4 (local.get $slot) (i32.sub (global.get $pos) (local.get $start)))
      (return (i32.const 0))))
  (if (i32.ne (local.get $c) (i32.const 34)) (then (return (i32.const -1))))
  (global.set $pos (i32.add (global.get $pos) (i32.const 1)))
  (local.set $buf (call $alloc (i32.sub (global.get $pend) (global.get $pos))))
  (local.set $out (local.get $buf))
  (block $end
    (loop $next
      (local.set $c (call $peek))
      (if (i32.lt_s (local.get $c) (i32.const 0)) (then (return (i32.const -1))))
      (global.set $pos (i32.add (global.get $pos) (i32.const 1)))
      (br_if $end (i32.eq (local.get $c) (i32.const 34)))
      (if (i32.eq (local.get $c) (i32.const 92))
        (then
          (local.set $c (call $peek))
          (global.set $pos (i32.add (global.get $pos) (i32.const 1)))
          (block $esc
            (if (i32.or (i32.or (i32.eq (local.get $c) (i32.const 34)) (i32.eq (local.get $c) (i32.const 92))) (i32.eq (local.get $c) (i32.const 47)))
              (then (br $esc)))
            (if (i32.eq (local.get $c) (i32.const 98)) (then (local.set $c (i32.const 8)) (br $esc)))
            (if (i32.eq (local.get $c) (i32.const 102)) (then (local.set $c (i32.const 12)) (br $esc)))
            (if (i32.eq (local.get $c) (i32.const 110)) (then (local.set $c (i32.const 10)) (br $esc)))
            (if (i32.eq (local.get $c) (i32.const 114)) (then (local.set $c (i32.const 13)) (br $esc)))
            (if (i32.eq (local.get $c) (i32.const 116)) (then (local.set $c (i32.const 9)) (br $esc)))
            (if (i32.ne (local.get $c) (i32.const 117)) (then (return (i32.const -1))))
            (local.set $cp (call $hex4))
            (if (i32.lt_s (local.get $cp) (i32.const 0)) (then (return (i32.const -1))))
            ;; a high surrogate must be followed by \u and a low surrogate
            (if (i32.eq (i32.and (local.get $cp) (i32.const 0xfc00)) (i32.const 0xd800))
              (then
                (if (i32.gt_u (i32.add (global.get $pos) (i32.const 2)) (global.get $pend)) (then (return (i32.const -1))))
                (if (i32.ne (i32.load16_u (global.get $pos)) (i32.const 0x755c)) (then (return (i32.const -1))))
                (global.set $pos (i32.add (global.get $pos) (i32.const 2)))
                (local.set $lo (call $hex4))
                (if (i32.ne (i32.and (local.get $lo) (i32.const 0xfc00)) (i32.const 0xdc00)) (then (return (i32.const -1))))
                (local.set $cp (i32.add (i32.const 0x10000)
                  (i32.or (i32.shl (i32.and (local.get $cp) (i32.const 0x3ff)) (i32.const 10)) (i32.and (local.get $lo) (i32.const 0x3ff)))))))
            (if (i32.eq (i32.and (local.get $cp) (i32.const 0xfc00)) (i32.const 0xdc00)) (then (return (i32.const -1))))
            (local.set $out (call $put_utf8 (local.get $out) (local.get $cp)))
            (br $next))
          (i32.store8 (local.get $out) (local.get $c))
          (local.set $out (i32.add (local.get $out) (i32.const 1)))
          (br $next)))
      (i32.store8 (local.get $out) (local.get $c))
      (local.set $out (i32.add (local.get $out) (i32.const 1)))
      (br $next)))
  (i32.store (local.get $slot) (local.get $buf))
  (i32.store offset=4 (local.get $slot) (i32.sub (local.get $out) (local.get $buf)))
  (i32.const 0))

(data (i32.const 360) "null")

(func $parse_args (param $p i32) (param $l i32) (result i32)
  (local $n i32)
  (global.set $pos (local.get $p))
  (global.set $pend (i32.add (local.get $p) (local.get $l)))
  (call $skip_ws)
  (if (i32.eq (call $peek) (i32.const 91))
    (then
      (global.set $pos (i32.add (global.get $pos) (i32.const 1)))
      (call $skip_ws)
      (if (i32.eq (call $peek) (i32.const 93))
        (then (global.set $pos (i32.add (global.get $pos) (i32.const 1))))
        (else
          (block $done
            (loop $next
              (if (i32.ge_u (local.get $n) (i32.const 16)) (then (return (i32.const -1))))
              (call $skip_ws)
              (if (i32.lt_s (call $parse_item (local.get $n)) (i32.const 0)) (then (return (i32.const -1))))
              (local.set $n (i32.add (local.get $n) (i32.const 1)))
              (call $skip_ws)
              (if (i32.eq (call $peek) (i32.const 44))
                (then (global.set $pos (i32.add (global.get $pos) (i32.const 1))) (br $next)))
              (if (i32.eq (call $peek) (i32.const 93))
                (then (global.set $pos (i32.add (global.get $pos) (i32.const 1))) (br $done)))
              (return (i32.const -1)))))))
    (else
      (if (i32.lt_s (call $parse_item (i32.const 0)) (i32.const 0)) (then (return (i32.const -1))))
      (local.set $n (i32.const 1))))
  (call $skip_ws)
  (if (i32.ne (global.get $pos) (global.get $pend)) (then (return (i32.const -1))))
  (local.get $n))
