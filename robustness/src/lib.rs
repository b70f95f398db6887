//! The fuzz harnesses of the workspace, one per target, and the
//! virtual-interrupt soak. Each harness is a function of arbitrary bytes
//! that panics when an invariant breaks (and the code under test must not
//! panic on its own): `fuzz/` runs them under libFuzzer with cargo-fuzz
//! (nightly), and `tests/fuzz_equivalents.rs` runs them, bounded, on
//! random inputs with proptest as part of `cargo test`.
//!
//! | harness | what it drives | checked after every step |
//! |---|---|---|
//! | [`model_bus::run`] | `gic_model::Gic` of random shape: accesses on every frame, CPU, offset and width; line changes; acknowledges and completions; snapshot and vCPU round trips | GICH_EISR/ELRSR/MISR equal their values computed from the list registers, GICH_HCR and GICH_VMCR; the maintenance output is HCR.En and MISR != 0, and drives PPI 25; an acknowledged INTID is active; save-load-save is byte-identical |
//! | [`readers::run`] | the snapshot readers (`Gic::set_from_bytes`, `Gic::set_vcpu_from_bytes`, `VcpuContext::from_bytes`, `VcpuRecord::from_bytes`, `snapshot::Reader`) on the same bytes | an error leaves the model unchanged; what loads saves back to the same bytes |
//! | [`driver_api::run`] | every public call of the driver over the model, with arbitrary arguments | typed errors, never a panic |
//! | [`vgic_trap::run`] | `MmioAccess::decode` and `Vgic::read`/`write` with fold and flush interleaved, guest acknowledges and EOIs, lines | no panic; nothing listed after a fold; no interrupt in two list registers |
//!
//! The driver's world-switch calls are reached only through
//! [`world_switch`], so a rename touches one file.
#![forbid(unsafe_code)]

pub mod costs;
pub mod driver_api;
pub mod input;
pub mod model_bus;
pub mod readers;
pub mod soak;
pub mod vgic_trap;
pub mod world_switch;

pub use input::Input;
