use anyhow::Result;
use reponet::geometry::{min_pairwise_angle, Polytope, PolytopeKind};
use serde_json::json;

/// Show a polytope classifier: its dimension, vertex angle phi (the default margin) and vertices.
///
/// Example: reponet polytope --kind cube --classes 47
#[derive(clap::Args)]
#[command(verbatim_doc_comment)]
pub struct Args {
    /// simplex (d = K-1), orthoplex (d = ceil(K/2)) or cube (d = ceil(log2 K)).
    #[arg(long, default_value = "simplex")]
    kind: PolytopeKind,
    /// Number of classes K (at least 2).
    #[arg(long, default_value_t = 10)]
    classes: usize,
    /// Also print the unit vertex matrix, one vertex a row (class vertices first).
    #[arg(long)]
    vertices: bool,
    /// Print everything as JSON instead (vertices included).
    #[arg(long)]
    json: bool,
}

pub fn run(args: Args) -> Result<()> {
    let p = Polytope::new(args.kind, args.classes)?;
    if args.json {
        let value = json!({
            "kind": p.kind(),
            "classes": p.classes(),
            "dim": p.dim(),
            "phi_degrees": p.phi_degrees(),
            "phi_radians": p.phi(),
            "vertices": p.num_vertices(),
            "unused_vertices": p.num_unused(),
            "min_pairwise_angle_degrees": min_pairwise_angle(p.vertices()).to_degrees(),
            "vertex_matrix": p.vertices(),
        });
        println!("{}", serde_json::to_string_pretty(&value)?);
        return Ok(());
    }
    println!("{}-{} for K = {} classes", p.dim(), p.kind(), p.classes());
    println!("  feature dimension d   {}", p.dim());
    println!(
        "  phi (= default margin) {:.3} deg = {:.6} rad",
        p.phi_degrees(),
        p.phi()
    );
    println!("  vertices              {}", p.num_vertices());
    println!(
        "  unused vertices       {} (softmax negatives without a class)",
        p.num_unused()
    );
    if args.vertices {
        println!(
            "  vertex matrix ({} x {}), row k = class k:",
            p.num_vertices(),
            p.dim()
        );
        for (i, v) in p.vertices().iter().enumerate() {
            let row: Vec<String> = v.iter().map(|x| format!("{x:+.6}")).collect();
            let tag = if i < p.classes() {
                format!("class {i}")
            } else {
                "unused".into()
            };
            println!("  {:>9}  {}", tag, row.join(" "));
        }
    }
    Ok(())
}
