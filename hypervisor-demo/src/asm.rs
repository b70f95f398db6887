//! Register save/restore sequences shared by the assembly of the exception
//! entries ([`exceptions`](crate::exceptions), [`guest`](crate::guest)) and
//! of the world switch ([`vcpu`](crate::vcpu)).
//!
//! Each macro expands to assembly text, a string literal to pass to
//! `global_asm!` between the other template strings (it joins them with
//! newlines). `$op` is `stp` to save the registers, `ldp` to restore them.
//! Being text, they need no assembler `.macro`, so nothing depends on the
//! order in which the `global_asm!` blocks are assembled.

/// `$op $a, $b, [$base, #($off + $size * $i)]`, one line for each pair
/// `$a $b $i`: register pairs of `$size` bytes at `$off` from `$base`.
macro_rules! pairs {
    ($op:ident, $base:ident, $off:tt, $size:literal: $($a:ident $b:ident $i:literal),+ $(,)?) => {
        concat!($(
            "    ", stringify!($op), " ", stringify!($a), ", ", stringify!($b),
            ", [", stringify!($base), ", #(", stringify!($off), " + ", $size, " * ", $i, ")]\n",
        )+)
    };
}

/// x0-x18 and x30 (every general-purpose register the AAPCS64 lets a
/// called function clobber) at `[sp]`: 160 bytes, in register order, x30
/// at 152.
macro_rules! caller_saved_x {
    ($op:ident) => {
        pairs!($op, sp, 0, 16:
            x0 x1 0, x2 x3 1, x4 x5 2, x6 x7 3, x8 x9 4,
            x10 x11 5, x12 x13 6, x14 x15 7, x16 x17 8, x18 x30 9)
    };
}

/// q0-q31 at `$off` (default 0) from `$base`: 512 bytes, in register order.
macro_rules! q_regs {
    ($op:ident, $base:ident) => {
        q_regs!($op, $base, 0)
    };
    ($op:ident, $base:ident, $off:tt) => {
        pairs!($op, $base, $off, 32:
            q0 q1 0, q2 q3 1, q4 q5 2, q6 q7 3, q8 q9 4, q10 q11 5, q12 q13 6, q14 q15 7,
            q16 q17 8, q18 q19 9, q20 q21 10, q22 q23 11, q24 q25 12, q26 q27 13, q28 q29 14,
            q30 q31 15)
    };
}
