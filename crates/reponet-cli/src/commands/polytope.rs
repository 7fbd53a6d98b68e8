use anyhow::Result;
use reponet::geometry::{
    angle_bound, mean_pairwise_angle, min_pairwise_angle, Polytope, PolytopeKind,
};
use serde_json::json;

use crate::context::Ctx;

/// Show a fixed classifier: d, vertex angle phi (the default margin), how near optimal.
///
/// Its dimension, vertex angle phi, the spread of its vertices, and how far phi is from
/// the best possible for (K, d).
///
/// Examples:
///   reponet polytope --kind cube --classes 47
///   reponet polytope --kind spread --classes 100 --dim 16
///   reponet polytope --kind hadamard --classes 10 --dim 8    (refused: rows repeat)
#[derive(clap::Args)]
#[command(verbatim_doc_comment)]
pub struct Args {
    /// simplex (d = K-1), orthoplex (d = ceil(K/2)), cube (d = ceil(log2 K)), hadamard
    /// (d = K rounded up to a power of two, or --dim), polygon (d = 2) or spread (--dim).
    #[arg(long, default_value = "simplex")]
    kind: PolytopeKind,
    /// Number of classes K (at least 2).
    #[arg(long, default_value_t = 10)]
    classes: usize,
    /// Feature dimension d, for hadamard and spread.
    #[arg(long)]
    dim: Option<usize>,
    /// Also print the unit vertex matrix, one vertex a row (class vertices first).
    #[arg(long)]
    vertices: bool,
}

/// Pairwise statistics over all vertices up to this many; above, over the first this many.
const MAX_PAIRWISE_VERTICES: usize = 2000;

pub fn run(args: Args, ctx: &Ctx) -> Result<()> {
    if args.kind == PolytopeKind::Spread {
        ctx.out.log(format_args!(
            "spreading {} points in d = {} (cached after the first time)...",
            args.classes,
            args.dim.map_or("?".into(), |d| d.to_string())
        ));
    }
    let p = Polytope::with_dim(args.kind, args.classes, args.dim)
        .map_err(|e| crate::errors::in_flag_words(reponet::train::TrainError::Geometry(e)))?;
    let sampled = p.num_vertices() > MAX_PAIRWISE_VERTICES;
    let measured = &p.vertices()[..p.num_vertices().min(MAX_PAIRWISE_VERTICES)];
    let min_angle = min_pairwise_angle(measured).to_degrees();
    let mean_angle = mean_pairwise_angle(measured).to_degrees();
    let bound = angle_bound(p.num_vertices(), p.dim());
    let pairs_note = if sampled {
        format!(" (over the first {MAX_PAIRWISE_VERTICES} vertices)")
    } else {
        String::new()
    };
    if ctx.out.json {
        let value = json!({
            "kind": p.kind(),
            "classes": p.classes(),
            "dim": p.dim(),
            "phi_degrees": p.phi_degrees(),
            "phi_radians": p.phi(),
            "vertices": p.num_vertices(),
            "unused_vertices": p.num_unused(),
            "min_pairwise_angle_degrees": min_angle,
            "mean_pairwise_angle_degrees": mean_angle,
            "pairwise_over_first_vertices": measured.len(),
            "bound_degrees": bound.angle.to_degrees(),
            "bound_is_optimum": bound.tight,
            "bound_source": bound.source,
            "vertex_matrix": p.vertices(),
        });
        return ctx.out.json(&value);
    }
    println!("{}-{} for K = {} classes", p.dim(), p.kind(), p.classes());
    println!("  feature dimension d    {}", p.dim());
    println!(
        "  phi (= default margin) {:.3} deg = {:.6} rad",
        p.phi_degrees(),
        p.phi()
    );
    println!("  vertices               {}", p.num_vertices());
    println!(
        "  unused vertices        {} (softmax negatives without a class)",
        p.num_unused()
    );
    println!("  min pairwise angle     {min_angle:.3} deg{pairs_note}");
    println!("  mean pairwise angle    {mean_angle:.3} deg{pairs_note}");
    println!(
        "  best possible          {:.3} deg for {} points in d = {}: {} ({}); phi is {:.3} deg {}",
        bound.angle.to_degrees(),
        p.num_vertices(),
        p.dim(),
        if bound.tight {
            "the optimum"
        } else {
            "an upper bound"
        },
        bound.source,
        bound.angle.to_degrees() - p.phi_degrees(),
        if bound.tight {
            "below it"
        } else {
            "below the bound"
        }
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
