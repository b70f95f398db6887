//! Prints the register accesses of the driver's hot paths, counted on the
//! model's bus, beside the architectural minimum and Linux
//! (`gic_robustness::costs`). `cargo run -p gic-robustness --example hot_path_accesses`.

fn main() {
    println!("| operation | ours | minimum | Linux |");
    println!("|---|---:|---:|---:|");
    for r in gic_robustness::costs::rows() {
        println!("| {} | {} | {} | {} |", r.what, r.ours, r.minimum, r.linux);
    }
}
