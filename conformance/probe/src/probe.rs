//! CPU 0's program: the scenarios, one after the other.

use core::fmt;
use core::panic::PanicInfo;

use aarch64_cpu::registers::{CurrentEL, Readable};
use gic_conformance_format::{scenarios, Access, Frame, Op, Width};
use gic_driver::regs::gicd;
use tock_registers::LocalRegisterCopy;

use crate::gic::{self, Answer};
use crate::{cpus, println, semihosting, uart};

/// The corpus, gathered by build.rs.
const CORPUS: &str = include_str!(concat!(env!("OUT_DIR"), "/corpus.gic"));

/// An answer as the recorded file writes it.
struct Shown(Answer, Width);

impl fmt::Display for Shown {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.0, self.1) {
            (Answer::Value(v), Width::Word) => write!(f, "{v:#010x}"),
            (Answer::Value(v), Width::Byte) => write!(f, "{v:#04x}"),
            (Answer::Abort, _) => f.write_str("abort"),
        }
    }
}

/// CPU 0's program.
#[no_mangle]
extern "C" fn probe_main() -> ! {
    uart::Console::init();
    if CurrentEL.read_as_enum(CurrentEL::EL) != Some(CurrentEL::EL::Value::EL2) {
        println!("probe: not at EL2 (run QEMU's virt board with virtualization=on)");
        semihosting::exit(semihosting::NOT_AT_EL2);
    }
    let typer_read = Access {
        frame: Frame::Gicd,
        cpu: 0,
        offset: gicd::offset::TYPER as u32,
        width: Width::Word,
        op: Op::Read,
    };
    let Answer::Value(typer) = gic::access(0, &typer_read) else {
        println!("probe: GICD_TYPER aborted");
        semihosting::exit(semihosting::UNEXPECTED_EXCEPTION);
    };
    let typer_fields = LocalRegisterCopy::<u32, gicd::TYPER::Register>::new(typer);
    let cpus = (typer_fields.read(gicd::TYPER::CPUNumber) + 1) as u8;
    println!("probe: QEMU virt, {cpus} CPU(s), GICD_TYPER {typer:#010x}");
    for cpu in 1..cpus as usize {
        if let Err(status) = cpus::start(cpu) {
            println!("probe: PSCI CPU_ON of CPU {cpu} failed: {status}");
            semihosting::exit(semihosting::CPU_START_FAILED);
        }
    }

    let (mut ran, mut reads) = (0u32, 0u32);
    for scenario in scenarios(CORPUS) {
        let scenario = match scenario {
            Ok(s) => s,
            Err(e) => {
                println!("probe: the corpus does not parse: {e}");
                semihosting::exit(semihosting::BAD_CORPUS);
            }
        };
        if scenario.cpus != cpus {
            continue;
        }
        if !scenario.reset {
            cpus::run_prologue(cpus);
        }
        println!("S {} {:016x}", scenario.name, scenario.fingerprint());
        for step in scenario.steps() {
            let answer = cpus::access_on(&step.access);
            if step.access.op == Op::Read {
                println!(
                    "R {} {} {}",
                    scenario.name,
                    step.number,
                    Shown(answer, step.access.width)
                );
                reads += 1;
            }
        }
        ran += 1;
    }
    println!("probe: done, {ran} scenarios, {reads} reads");
    semihosting::exit(semihosting::SUCCESS)
}

#[panic_handler]
fn panic(info: &PanicInfo) -> ! {
    println!("probe: panic: {info}");
    semihosting::exit(semihosting::PANIC)
}
