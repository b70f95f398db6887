//! Names for what a read returns: the register at a frame offset and its
//! fields, taken from `gic_driver::regs` (the bitfields and offsets the
//! driver and the model use), so a difference can be told as
//! "GICC_CTLR.EOImode: QEMU 1, model 0".

use gic_conformance_format::{Frame, Width};
use gic_driver::regs::{gicc, gicd, gich};
use tock_registers::fields::Field;
use tock_registers::RegisterLongName;

/// One field of a register: its name as printed after the register's, and
/// its bits in the 32-bit word.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldDef {
    /// `.EOImode`, `[INTID 40]`, `[LR 2]`, or empty for a whole register.
    pub name: String,
    /// Its bits in the word.
    pub mask: u32,
    /// For one of a row of numbered fields (`[INTID 40]`): the label before
    /// the number and the number, so that neighbours that differ alike can
    /// be shown as one range (`[INTID 40-47]`).
    pub numbered: Option<(String, u32)>,
}

/// A bitfield from `gic_driver::regs` under the name `name`.
fn field<R: RegisterLongName>(name: &str, f: Field<u32, R>) -> FieldDef {
    FieldDef {
        name: format!(".{name}"),
        mask: f.mask << f.shift,
        numbered: None,
    }
}

/// Field `number` of a row labelled `label` (`[INTID 40]`), at `mask`.
fn numbered(label: &str, number: u32, mask: u32) -> FieldDef {
    FieldDef {
        name: format!("[{label} {number}]"),
        mask,
        numbered: Some((label.to_owned(), number)),
    }
}

/// How a register's word is divided.
#[derive(Debug, Clone, Copy)]
enum Layout {
    /// Named bitfields.
    Fields(fn() -> Vec<FieldDef>),
    /// One bit per INTID (IGROUPR, ISENABLER, ...).
    BitPerIntid,
    /// One byte per INTID (IPRIORITYR, ITARGETSR).
    BytePerIntid,
    /// Two bits per INTID (ICFGR, NSACR).
    TwoBitsPerIntid,
    /// One byte per SGI, one bit per source CPU (CPENDSGIR, SPENDSGIR).
    BytePerSgi,
    /// One bit per preemption level (APR, NSAPR).
    BitPerLevel,
    /// One bit per list register (EISR, ELRSR).
    BitPerListRegister,
    /// A list register (its fields depend on its HW bit).
    ListRegister,
    /// One 32-bit value (identification registers).
    Whole,
}

/// A register, or an array of registers, of a frame.
#[derive(Debug, Clone, Copy)]
struct Row {
    base: usize,
    /// Bytes covered.
    len: usize,
    /// The register's name without the frame prefix or index.
    kind: &'static str,
    /// Index of the first word, for arrays (`None`: a single register).
    first_index: Option<u32>,
    layout: Layout,
}

const fn row(base: usize, kind: &'static str, layout: Layout) -> Row {
    Row {
        base,
        len: 4,
        kind,
        first_index: None,
        layout,
    }
}

const fn array(base: usize, len: usize, kind: &'static str, first: u32, layout: Layout) -> Row {
    Row {
        base,
        len,
        kind,
        first_index: Some(first),
        layout,
    }
}

fn gicd_ctlr() -> Vec<FieldDef> {
    use gicd::CTLR;
    vec![
        field("EnableGrp0", CTLR::EnableGrp0),
        field("EnableGrp1", CTLR::EnableGrp1),
    ]
}

fn gicd_typer() -> Vec<FieldDef> {
    use gicd::TYPER;
    vec![
        field("ITLinesNumber", TYPER::ITLinesNumber),
        field("CPUNumber", TYPER::CPUNumber),
        field("SecurityExtn", TYPER::SecurityExtn),
        field("LSPI", TYPER::LSPI),
    ]
}

fn gicd_iidr() -> Vec<FieldDef> {
    use gicd::IIDR;
    vec![
        field("Implementer", IIDR::Implementer),
        field("Revision", IIDR::Revision),
        field("Variant", IIDR::Variant),
        field("ProductID", IIDR::ProductID),
    ]
}

fn gicd_sgir() -> Vec<FieldDef> {
    use gicd::SGIR;
    vec![
        field("SGIINTID", SGIR::SGIINTID),
        field("NSATT", SGIR::NSATT),
        field("CPUTargetList", SGIR::CPUTargetList),
        field("TargetListFilter", SGIR::TargetListFilter),
    ]
}

fn gicc_ctlr() -> Vec<FieldDef> {
    use gicc::CTLR;
    vec![
        field("EnableGrp0", CTLR::EnableGrp0),
        field("EnableGrp1", CTLR::EnableGrp1),
        field("AckCtl", CTLR::AckCtl),
        field("FIQEn", CTLR::FIQEn),
        field("CBPR", CTLR::CBPR),
        field("Bypass", CTLR::Bypass),
        field("EOImode", CTLR::EOImode),
    ]
}

fn gicc_pmr() -> Vec<FieldDef> {
    vec![field("Priority", gicc::PMR::Priority)]
}

fn gicc_bpr() -> Vec<FieldDef> {
    vec![field("BinaryPoint", gicc::BPR::BinaryPoint)]
}

fn gicc_iar() -> Vec<FieldDef> {
    use gicc::IAR;
    vec![
        field("InterruptID", IAR::InterruptID),
        field("CPUID", IAR::CPUID),
    ]
}

fn gicc_rpr() -> Vec<FieldDef> {
    vec![field("Priority", gicc::RPR::Priority)]
}

fn gicc_iidr() -> Vec<FieldDef> {
    use gicc::IIDR;
    vec![
        field("Implementer", IIDR::Implementer),
        field("Revision", IIDR::Revision),
        field("ArchitectureVersion", IIDR::ArchitectureVersion),
        field("ProductID", IIDR::ProductID),
    ]
}

fn gich_hcr() -> Vec<FieldDef> {
    use gich::HCR;
    vec![
        field("En", HCR::En),
        field("UIE", HCR::UIE),
        field("LRENPIE", HCR::LRENPIE),
        field("NPIE", HCR::NPIE),
        field("VGrp0EIE", HCR::VGrp0EIE),
        field("VGrp0DIE", HCR::VGrp0DIE),
        field("VGrp1EIE", HCR::VGrp1EIE),
        field("VGrp1DIE", HCR::VGrp1DIE),
        field("EOICount", HCR::EOICount),
    ]
}

fn gich_vtr() -> Vec<FieldDef> {
    use gich::VTR;
    vec![
        field("ListRegs", VTR::ListRegs),
        field("PREbits", VTR::PREbits),
        field("PRIbits", VTR::PRIbits),
    ]
}

fn gich_vmcr() -> Vec<FieldDef> {
    use gich::VMCR;
    vec![
        field("VMGrp0En", VMCR::VMGrp0En),
        field("VMGrp1En", VMCR::VMGrp1En),
        field("VMAckCtl", VMCR::VMAckCtl),
        field("VMFIQEn", VMCR::VMFIQEn),
        field("VMCBPR", VMCR::VMCBPR),
        field("VEM", VMCR::VEM),
        field("VMABP", VMCR::VMABP),
        field("VMBP", VMCR::VMBP),
        field("VMPriMask", VMCR::VMPriMask),
    ]
}

fn gich_misr() -> Vec<FieldDef> {
    use gich::MISR;
    vec![
        field("EOI", MISR::EOI),
        field("U", MISR::U),
        field("LRENP", MISR::LRENP),
        field("NP", MISR::NP),
        field("VGrp0E", MISR::VGrp0E),
        field("VGrp0D", MISR::VGrp0D),
        field("VGrp1E", MISR::VGrp1E),
        field("VGrp1D", MISR::VGrp1D),
    ]
}

/// GICH_LRn's fields; PhysicalID (HW = 1) and CPUID/EOI (HW = 0) share bits.
fn gich_lr(hw: bool) -> Vec<FieldDef> {
    use gich::LR;
    let mut f = vec![field("VirtualID", LR::VirtualID)];
    if hw {
        f.push(field("PhysicalID", LR::PhysicalID));
    } else {
        f.push(field("CPUID", LR::CPUID));
        f.push(field("EOI", LR::EOI));
    }
    f.extend([
        field("Priority", LR::Priority),
        field("State", LR::State),
        field("Grp1", LR::Grp1),
        field("HW", LR::HW),
    ]);
    f
}

/// GICD_NSACRn (4.3.14), which `gic_driver::regs` does not define (it
/// exists only with the Security Extensions; RAZ/WI here).
const GICD_NSACR: usize = 0xE00;
/// GICD_PIDR0, GICD_CIDR0 (4.3.18, 4.3.19).
const GICD_PIDR0: usize = 0xFE0;
const GICD_CIDR0: usize = 0xFF0;

/// The Distributor map (IHI 0048B Table 4-1).
fn gicd_rows() -> Vec<Row> {
    use gicd::{offset as o, BIT_ARRAY_BYTES as BITS, BYTE_ARRAY_BYTES as BYTES, ICFGR_BYTES};
    use Layout::*;
    vec![
        row(o::CTLR, "CTLR", Fields(gicd_ctlr)),
        row(o::TYPER, "TYPER", Fields(gicd_typer)),
        row(o::IIDR, "IIDR", Fields(gicd_iidr)),
        array(o::IGROUPR, BITS, "IGROUPR", 0, BitPerIntid),
        array(o::ISENABLER, BITS, "ISENABLER", 0, BitPerIntid),
        array(o::ICENABLER, BITS, "ICENABLER", 0, BitPerIntid),
        array(o::ISPENDR, BITS, "ISPENDR", 0, BitPerIntid),
        array(o::ICPENDR, BITS, "ICPENDR", 0, BitPerIntid),
        array(o::ISACTIVER, BITS, "ISACTIVER", 0, BitPerIntid),
        array(o::ICACTIVER, BITS, "ICACTIVER", 0, BitPerIntid),
        array(o::IPRIORITYR, BYTES, "IPRIORITYR", 0, BytePerIntid),
        array(o::ITARGETSR, BYTES, "ITARGETSR", 0, BytePerIntid),
        array(o::ICFGR, ICFGR_BYTES, "ICFGR", 0, TwoBitsPerIntid),
        array(GICD_NSACR, ICFGR_BYTES, "NSACR", 0, TwoBitsPerIntid),
        row(o::SGIR, "SGIR", Fields(gicd_sgir)),
        array(o::CPENDSGIR, 16, "CPENDSGIR", 0, BytePerSgi),
        array(o::SPENDSGIR, 16, "SPENDSGIR", 0, BytePerSgi),
        array(o::PIDR4, 16, "PIDR", 4, Whole),
        array(GICD_PIDR0, 16, "PIDR", 0, Whole),
        array(GICD_CIDR0, 16, "CIDR", 0, Whole),
    ]
}

/// The CPU interface map (Table 4-2); GICV has the same (Table 5-7).
fn gicc_rows() -> Vec<Row> {
    use gicc::offset as o;
    use Layout::*;
    let apr = 4 * gicc::APR_COUNT;
    vec![
        row(o::CTLR, "CTLR", Fields(gicc_ctlr)),
        row(o::PMR, "PMR", Fields(gicc_pmr)),
        row(o::BPR, "BPR", Fields(gicc_bpr)),
        row(o::IAR, "IAR", Fields(gicc_iar)),
        row(o::EOIR, "EOIR", Fields(gicc_iar)),
        row(o::RPR, "RPR", Fields(gicc_rpr)),
        row(o::HPPIR, "HPPIR", Fields(gicc_iar)),
        row(o::ABPR, "ABPR", Fields(gicc_bpr)),
        row(o::AIAR, "AIAR", Fields(gicc_iar)),
        row(o::AEOIR, "AEOIR", Fields(gicc_iar)),
        row(o::AHPPIR, "AHPPIR", Fields(gicc_iar)),
        array(o::APR, apr, "APR", 0, BitPerLevel),
        array(o::NSAPR, apr, "NSAPR", 0, BitPerLevel),
        row(o::IIDR, "IIDR", Fields(gicc_iidr)),
        row(o::DIR, "DIR", Fields(gicc_iar)),
    ]
}

/// The virtual interface control map (Table 5-1).
fn gich_rows() -> Vec<Row> {
    use gich::offset as o;
    use Layout::*;
    vec![
        row(o::HCR, "HCR", Fields(gich_hcr)),
        row(o::VTR, "VTR", Fields(gich_vtr)),
        row(o::VMCR, "VMCR", Fields(gich_vmcr)),
        row(o::MISR, "MISR", Fields(gich_misr)),
        array(o::EISR, 8, "EISR", 0, BitPerListRegister),
        array(o::ELRSR, 8, "ELRSR", 0, BitPerListRegister),
        row(o::APR, "APR", BitPerLevel),
        array(o::LR, 4 * gich::MAX_LIST_REGISTERS, "LR", 0, ListRegister),
    ]
}

fn rows(frame: Frame) -> Vec<Row> {
    match frame {
        Frame::Gicd => gicd_rows(),
        Frame::Gicc | Frame::Gicv => gicc_rows(),
        Frame::Gich => gich_rows(),
    }
}

/// `GICD_`, `GICC_`, `GICH_` or `GICV_`.
pub fn prefix(frame: Frame) -> &'static str {
    match frame {
        Frame::Gicd => "GICD_",
        Frame::Gicc => "GICC_",
        Frame::Gich => "GICH_",
        Frame::Gicv => "GICV_",
    }
}

/// Every register kind of a frame (an array counts once), with its frame
/// prefix: what the corpus must read and write.
pub fn kinds(frame: Frame) -> Vec<String> {
    let mut k: Vec<String> = Vec::new();
    for r in rows(frame) {
        let name = format!("{}{}", prefix(frame), r.kind);
        if !k.contains(&name) {
            k.push(name);
        }
    }
    k
}

/// The register holding the word at `offset` (rounded down to a word) of
/// `frame`: its kind (`GICC_CTLR`), its full name (`GICD_ISENABLER1`), and
/// the word's fields, given the two values compared (a list register's
/// fields depend on its HW bit). `None` for a reserved offset.
pub fn describe(
    frame: Frame,
    offset: u32,
    a: u32,
    b: u32,
) -> Option<(String, String, Vec<FieldDef>)> {
    let word = (offset & !3) as usize;
    let r = rows(frame)
        .into_iter()
        .find(|r| word >= r.base && word < r.base + r.len)?;
    let n = ((word - r.base) / 4) as u32;
    let kind = format!("{}{}", prefix(frame), r.kind);
    let name = match r.first_index {
        Some(first) => format!("{kind}{}", first + n),
        None => kind.clone(),
    };
    let fields = match r.layout {
        Layout::Fields(f) => f(),
        Layout::BitPerIntid => (0..32)
            .map(|i| numbered("INTID", n * 32 + i, 1 << i))
            .collect(),
        Layout::BytePerIntid => (0..4)
            .map(|i| numbered("INTID", n * 4 + i, 0xFF << (8 * i)))
            .collect(),
        Layout::TwoBitsPerIntid => (0..16)
            .map(|i| numbered("INTID", n * 16 + i, 0b11 << (2 * i)))
            .collect(),
        Layout::BytePerSgi => (0..32)
            .map(|i| numbered(&format!("SGI {} from CPU", n * 4 + i / 8), i % 8, 1 << i))
            .collect(),
        Layout::BitPerLevel => (0..32).map(|i| numbered("bit", i, 1 << i)).collect(),
        Layout::BitPerListRegister => (0..32)
            .map(|i| numbered("LR", n * 32 + i, 1 << i))
            .collect(),
        Layout::ListRegister => {
            let hw = gich::LR::HW.mask << gich::LR::HW.shift;
            gich_lr((a | b) & hw != 0)
        }
        Layout::Whole => vec![FieldDef {
            name: String::new(),
            mask: u32::MAX,
            numbered: None,
        }],
    };
    Some((kind, name, fields))
}

/// A differing field as printed: its name, the run of numbers it stands
/// for (label, first, last), QEMU's value and the model's.
type Shown = (String, Option<(String, u32, u32)>, u32, u32);

/// The value of the bits `mask` of `v`, shifted down.
fn extract(v: u32, mask: u32) -> u32 {
    (v & mask) >> mask.trailing_zeros()
}

/// What differs between two values read by an access of `width` at
/// `offset` of `frame`, field by field: `GICC_CTLR.EOImode: 1 vs 0`
/// (QEMU's first). Bits no field names are given as ranges.
pub fn differing_fields(
    frame: Frame,
    offset: u32,
    width: Width,
    qemu: u32,
    model: u32,
) -> Vec<String> {
    // A byte read returns its byte lane in bits 7:0.
    let lane = if width == Width::Byte {
        8 * (offset & 3)
    } else {
        0
    };
    let lane_mask = if width == Width::Byte {
        0xFFu32 << lane
    } else {
        u32::MAX
    };
    let (q, m) = (qemu << lane, model << lane);
    let diff = (q ^ m) & lane_mask;
    let mut out = Vec::new();
    let Some((_, name, fields)) = describe(frame, offset, q, m) else {
        out.push(format!(
            "{}reserved {:#05x}: {:#x} vs {:#x}",
            prefix(frame),
            offset,
            qemu,
            model
        ));
        return out;
    };
    let mut named = 0u32;
    // Merging runs of numbered fields that differ alike.
    let mut shown: Vec<Shown> = Vec::new();
    for f in &fields {
        named |= f.mask;
        if diff & f.mask == 0 {
            continue;
        }
        let mask = f.mask & lane_mask;
        let (qv, mv) = (extract(q, mask), extract(m, mask));
        if let (Some((label, number)), Some(last)) = (&f.numbered, shown.last_mut()) {
            if let Some((l, _, end)) = &mut last.1 {
                if l == label && *end + 1 == *number && last.2 == qv && last.3 == mv {
                    *end = *number;
                    continue;
                }
            }
        }
        let run = f.numbered.as_ref().map(|(l, n)| (l.clone(), *n, *n));
        shown.push((f.name.clone(), run, qv, mv));
    }
    for (field, run, qv, mv) in shown {
        let field = match run {
            Some((label, first, last)) if last > first => format!("[{label} {first}-{last}]"),
            _ => field,
        };
        out.push(format!("{name}{field}: {qv:#x} vs {mv:#x}"));
    }
    let mut rest = diff & !named;
    while rest != 0 {
        let lo = rest.trailing_zeros();
        let run = (rest >> lo).trailing_ones();
        let hi = lo + run - 1;
        let mask = if run == 32 {
            u32::MAX
        } else {
            ((1u32 << run) - 1) << lo
        };
        let bits = if hi == lo {
            format!("bit {lo}")
        } else {
            format!("bits [{hi}:{lo}]")
        };
        out.push(format!(
            "{name} {bits}: {:#x} vs {:#x}",
            extract(q, mask),
            extract(m, mask)
        ));
        rest &= !mask;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn named_fields_come_from_the_driver_bitfields() {
        let d = differing_fields(Frame::Gicc, 0x000, Width::Word, 0x200, 0x000);
        assert_eq!(d, ["GICC_CTLR.EOImode: 0x1 vs 0x0"]);
        let d = differing_fields(Frame::Gicv, 0x00c, Width::Word, 0x405, 0x005);
        assert_eq!(d, ["GICV_IAR.CPUID: 0x1 vs 0x0"]);
        let d = differing_fields(Frame::Gich, 0x000, Width::Word, 0x0800_0000, 0);
        assert_eq!(d, ["GICH_HCR.EOICount: 0x1 vs 0x0"]);
    }

    #[test]
    fn arrays_name_the_interrupt_and_the_register_index() {
        let d = differing_fields(Frame::Gicd, 0x104, Width::Word, 1 << 8, 0);
        assert_eq!(d, ["GICD_ISENABLER1[INTID 40]: 0x1 vs 0x0"]);
        let d = differing_fields(Frame::Gicd, 0x82a, Width::Byte, 0x0f, 0x03);
        assert_eq!(d, ["GICD_ITARGETSR10[INTID 42]: 0xf vs 0x3"]);
        let d = differing_fields(Frame::Gicd, 0xf21, Width::Byte, 0x04, 0x00);
        assert_eq!(d, ["GICD_SPENDSGIR0[SGI 1 from CPU 2]: 0x1 vs 0x0"]);
        let d = differing_fields(Frame::Gich, 0x030, Width::Word, 0x1f, 0x0f);
        assert_eq!(d, ["GICH_ELRSR0[LR 4]: 0x1 vs 0x0"]);
    }

    #[test]
    fn neighbours_that_differ_alike_are_one_range() {
        let d = differing_fields(Frame::Gicd, 0xc04, Width::Word, 0xaaaa_aaaa, 0);
        assert_eq!(d, ["GICD_ICFGR1[INTID 16-31]: 0x2 vs 0x0"]);
        let d = differing_fields(Frame::Gicd, 0x104, Width::Word, 0x0000_0b00, 0x0000_0400);
        assert_eq!(
            d,
            [
                "GICD_ISENABLER1[INTID 40-41]: 0x1 vs 0x0",
                "GICD_ISENABLER1[INTID 42]: 0x0 vs 0x1",
                "GICD_ISENABLER1[INTID 43]: 0x1 vs 0x0",
            ]
        );
        let d = differing_fields(Frame::Gicd, 0xf20, Width::Byte, 0xfc, 0);
        assert_eq!(d, ["GICD_SPENDSGIR0[SGI 0 from CPU 2-7]: 0x1 vs 0x0"]);
    }

    #[test]
    fn list_register_fields_follow_the_hw_bit() {
        let hw = 0x8000_0000u32;
        let d = differing_fields(Frame::Gich, 0x100, Width::Word, hw | (27 << 10), hw);
        assert_eq!(d, ["GICH_LR0.PhysicalID: 0x1b vs 0x0"]);
        let d = differing_fields(Frame::Gich, 0x104, Width::Word, 1 << 19, 0);
        assert_eq!(d, ["GICH_LR1.EOI: 0x1 vs 0x0"]);
        let d = differing_fields(Frame::Gich, 0x104, Width::Word, 0x0070_0000, 0);
        assert_eq!(d, ["GICH_LR1 bits [22:20]: 0x7 vs 0x0"]);
    }

    #[test]
    fn unnamed_bits_and_reserved_offsets_are_still_shown() {
        let d = differing_fields(Frame::Gicc, 0x000, Width::Word, 0x400, 0);
        assert_eq!(d, ["GICC_CTLR bit 10: 0x1 vs 0x0"]);
        let d = differing_fields(Frame::Gicd, 0x00c, Width::Word, 1, 0);
        assert_eq!(d, ["GICD_reserved 0x00c: 0x1 vs 0x0"]);
        let d = differing_fields(Frame::Gicd, 0x001, Width::Byte, 0x1, 0);
        assert_eq!(d, ["GICD_CTLR bit 8: 0x1 vs 0x0"]);
    }

    #[test]
    fn every_frame_has_its_register_kinds() {
        assert!(kinds(Frame::Gicd).contains(&"GICD_SGIR".to_string()));
        assert!(kinds(Frame::Gicv).contains(&"GICV_AHPPIR".to_string()));
        assert!(kinds(Frame::Gich).contains(&"GICH_LR".to_string()));
        assert_eq!(
            kinds(Frame::Gicd)
                .iter()
                .filter(|k| *k == "GICD_PIDR")
                .count(),
            1
        );
    }
}
