//! `frame!`: a frame's register table, declared once.
//!
//! ```text
//! frame! {
//!     size: 0x2000;
//!     /// GICC_CTLR, CPU Interface Control Register (4.4.1).
//!     CTLR: Register<CTLR::Register, ReadWrite> = 0x00;
//!     ...
//! }
//! ```
//!
//! gives, for every line, a typed constant (`gicc::CTLR`) and a plain
//! offset (`gicc::offset::CTLR`), then `offset::FRAME_SIZE`, and asserts at
//! compile time that the registers are in offset order, do not overlap and
//! end within the frame.

macro_rules! frame {
    (
        size: $size:expr;
        $( $(#[$doc:meta])* $name:ident: $t:ty = $off:expr; )*
    ) => {
        /// Byte offsets of the frame's registers, in offset order (checked at
        /// compile time), for code that decodes accesses by offset.
        pub mod offset {
            $( $(#[$doc])* pub const $name: usize = $off; )*
            /// Size of the frame in bytes.
            pub const FRAME_SIZE: usize = $size;
        }

        $( $(#[$doc])* pub const $name: $t = <$t>::at(offset::$name); )*

        /// The frame's registers as (offset, bytes), in declaration order.
        const LAYOUT: &[(usize, usize)] = &[$( ($name.offset(), $name.bytes()) ),*];
        const _: () = assert!(
            $crate::regs::in_order(LAYOUT, offset::FRAME_SIZE),
            "registers out of order, overlapping, or beyond the frame"
        );
    };
}
