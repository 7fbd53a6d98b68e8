//! Data-parallel training across processes: the collective operations a run needs, behind
//! one trait, so that the training loop is the same for one process and for many.
//!
//! Every rank draws the same epoch order and the same global batch and computes the
//! gradient of its share of the batch's rows ([`shard`]); one all-reduce per step sums the
//! shares' gradients, each weighted by its share of the rows, so every rank applies the
//! gradient of the whole batch and the ranks' weights stay bitwise equal. [`SingleProcess`]
//! is the world of one (no communication); [`Mpi`] (the `mpi` feature) runs under `mpirun`
//! or `srun` on the MPI library clusters already have.

use std::ops::Range;

use std::collections::HashMap;

use burn::module::{Module, ModuleMapper, Param, ParamId};
use burn::optim::GradientsParams;
use burn::tensor::{Device, Tensor, TensorData};

use crate::nn::{Sorted, TensorVisitor};

/// The collective operations of data-parallel training. Every rank must call them in the
/// same order with buffers of the same length.
pub trait Collective {
    /// This process's rank, 0-based; rank 0 writes the run's files.
    fn rank(&self) -> usize;
    /// Processes in the job.
    fn size(&self) -> usize;
    /// The rank among the processes on this machine (which GPU to take).
    fn local_rank(&self) -> usize;
    /// Elementwise sum over all ranks, in place; every rank gets the same result.
    fn sum_f32(&self, values: &mut [f32]);
    /// Elementwise sum over all ranks, in place.
    fn sum_f64(&self, values: &mut [f64]);
    /// Whether any rank says `flag` (a stop request seen by one rank stops them all at the
    /// same step).
    fn any(&self, flag: bool) -> bool {
        let mut v = [f64::from(u8::from(flag))];
        self.sum_f64(&mut v);
        v[0] > 0.0
    }
}

/// A job of one process: nothing to communicate.
#[derive(Debug, Clone, Copy, Default)]
pub struct SingleProcess;

impl Collective for SingleProcess {
    fn rank(&self) -> usize {
        0
    }
    fn size(&self) -> usize {
        1
    }
    fn local_rank(&self) -> usize {
        0
    }
    fn sum_f32(&self, _: &mut [f32]) {}
    fn sum_f64(&self, _: &mut [f64]) {}
    fn any(&self, flag: bool) -> bool {
        flag
    }
}

/// Rank `rank`'s rows of a batch of `len` rows split over `size` ranks: contiguous, sizes
/// differing by at most one (the first `len % size` ranks take one more).
pub fn shard(len: usize, rank: usize, size: usize) -> Range<usize> {
    let (base, extra) = (len / size, len % size);
    let start = rank * base + rank.min(extra);
    start..start + base + usize::from(rank < extra)
}

/// Sum the ranks' gradients, each scaled by `weight` (its share of the batch's rows), so
/// that every rank holds the gradient of the whole batch: all of them flattened into one
/// buffer and all-reduced at once. A parameter without a gradient on this rank (its shard
/// was empty) contributes zeros. With one process nothing happens.
pub fn all_reduce_gradients<M: Module>(
    grads: GradientsParams,
    model: &M,
    weight: f32,
    device: &Device,
    comm: &dyn Collective,
) -> GradientsParams {
    if comm.size() == 1 {
        return grads;
    }
    let mut flat = Sorted::new(Flatten {
        grads,
        values: Vec::new(),
        shapes: Vec::new(),
    });
    model.visit(&mut flat);
    let Flatten {
        mut grads,
        mut values,
        shapes,
    } = flat.inner;
    for v in &mut values {
        *v *= weight;
    }
    comm.sum_f32(&mut values);
    let mut offset = 0;
    for (id, shape) in shapes {
        let len: usize = shape.iter().product();
        let data = TensorData::new(values[offset..offset + len].to_vec(), shape.clone());
        offset += len;
        match shape.len() {
            1 => grads.register::<1>(id, Tensor::from_data(data, device)),
            2 => grads.register::<2>(id, Tensor::from_data(data, device)),
            3 => grads.register::<3>(id, Tensor::from_data(data, device)),
            4 => grads.register::<4>(id, Tensor::from_data(data, device)),
            rank => unreachable!("no parameter of rank {rank} in reponet's networks"),
        }
    }
    grads
}

/// Every trainable parameter's gradient (or zeros) appended to one buffer, in module order.
struct Flatten {
    grads: GradientsParams,
    values: Vec<f32>,
    shapes: Vec<(ParamId, Vec<usize>)>,
}

impl TensorVisitor for Flatten {
    fn tensor<const D: usize>(&mut self, param: &Param<Tensor<D>>, statistic: bool) {
        if statistic {
            return;
        }
        let shape = param.val().dims().to_vec();
        match self.grads.remove::<D>(param.id) {
            Some(g) => self
                .values
                .extend(g.into_data().convert::<f32>().iter::<f32>()),
            None => self
                .values
                .extend(std::iter::repeat_n(0.0, shape.iter().product())),
        }
        self.shapes.push((param.id, shape));
    }
}

/// Replace every rank's batch-norm running statistics by their mean over the ranks, so the
/// ranks' models stay equal. Each rank normalises with its own shard's batch statistics
/// (as PyTorch's DistributedDataParallel does without SyncBatchNorm), so the running
/// statistics are averages of the shards'. With one process nothing happens.
pub fn average_running_statistics<M: Module>(model: M, comm: &dyn Collective) -> M {
    if comm.size() == 1 {
        return model;
    }
    #[derive(Default)]
    struct Gather {
        values: Vec<f32>,
        ids: Vec<(ParamId, usize)>,
    }
    impl TensorVisitor for Gather {
        fn tensor<const D: usize>(&mut self, param: &Param<Tensor<D>>, statistic: bool) {
            if statistic {
                let before = self.values.len();
                self.values
                    .extend(param.val().into_data().convert::<f32>().iter::<f32>());
                self.ids.push((param.id, self.values.len() - before));
            }
        }
    }
    if !has_running_statistics(&model) {
        return model;
    }
    // Merge the statistics Burn keeps aside per thread, so that what is read is the last
    // step's and what is written is not overwritten by a stale pending update.
    let _ = model.valid();
    let mut gather = Sorted::new(Gather::default());
    model.visit(&mut gather);
    let mut gather = gather.inner;
    comm.sum_f32(&mut gather.values);
    let ranks = comm.size() as f32;
    let mut offset = 0;
    let mut averaged = HashMap::new();
    for (id, len) in gather.ids {
        let mean: Vec<f32> = gather.values[offset..offset + len]
            .iter()
            .map(|v| v / ranks)
            .collect();
        averaged.insert(id, mean);
        offset += len;
    }
    struct Replace(HashMap<ParamId, Vec<f32>>);
    impl ModuleMapper for Replace {
        fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
            match self.0.remove(&param.id) {
                Some(values) => param.map(|t| {
                    let shape = t.dims();
                    Tensor::from_data(TensorData::new(values, shape), &t.device())
                }),
                None => param,
            }
        }
    }
    model.map(&mut Replace(averaged))
}

/// Whether `model` holds batch norm's running statistics.
fn has_running_statistics<M: Module>(model: &M) -> bool {
    struct Find(bool);
    impl TensorVisitor for Find {
        fn tensor<const D: usize>(&mut self, _: &Param<Tensor<D>>, statistic: bool) {
            self.0 |= statistic;
        }
    }
    let mut find = Sorted::new(Find(false));
    model.visit(&mut find);
    find.inner.0
}

#[cfg(feature = "mpi")]
pub use self::mpi_world::Mpi;

#[cfg(feature = "mpi")]
mod mpi_world {
    use mpi::collective::{CommunicatorCollectives, SystemOperation};
    use mpi::topology::{Communicator, SimpleCommunicator};

    use super::Collective;

    /// The MPI world of a job launched with `mpirun` or `srun` (the `mpi` feature).
    pub struct Mpi {
        world: SimpleCommunicator,
        local_rank: usize,
        // Finalizes MPI when dropped: declared last, so it is dropped last.
        _universe: mpi::environment::Universe,
    }

    impl Mpi {
        /// Join the job's world if this process was started by an MPI launcher (its
        /// environment says so); `None` otherwise, so a plain start stays a world of one
        /// without initialising MPI.
        pub fn from_launcher() -> Option<Self> {
            const LAUNCHER_VARS: [&str; 3] = ["OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_RANK"];
            if !LAUNCHER_VARS.iter().any(|v| std::env::var_os(v).is_some()) {
                return None;
            }
            // Only the main thread calls MPI; rayon's threads compute.
            let (universe, _) = mpi::initialize_with_threading(mpi::Threading::Funneled)?;
            let world = universe.world();
            let local = world.split_shared(world.rank());
            Some(Self {
                local_rank: local.rank() as usize,
                world,
                _universe: universe,
            })
        }

        /// End every rank of the job now with `code` (a failed rank must not leave the
        /// others waiting in a collective forever).
        pub fn abort(&self, code: i32) -> ! {
            self.world.abort(code)
        }
    }

    impl Collective for Mpi {
        fn rank(&self) -> usize {
            self.world.rank() as usize
        }
        fn size(&self) -> usize {
            self.world.size() as usize
        }
        fn local_rank(&self) -> usize {
            self.local_rank
        }
        fn sum_f32(&self, values: &mut [f32]) {
            let send = values.to_vec();
            self.world
                .all_reduce_into(&send[..], values, SystemOperation::sum());
        }
        fn sum_f64(&self, values: &mut [f64]) {
            let send = values.to_vec();
            self.world
                .all_reduce_into(&send[..], values, SystemOperation::sum());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_cover_a_batch_once_and_evenly() {
        for len in [0, 1, 5, 32, 33, 512] {
            for size in 1..=5 {
                let shards: Vec<_> = (0..size).map(|r| shard(len, r, size)).collect();
                assert_eq!(shards[0].start, 0);
                assert_eq!(shards[size - 1].end, len);
                for pair in shards.windows(2) {
                    assert_eq!(pair[0].end, pair[1].start);
                    assert!(pair[0].len() >= pair[1].len());
                    assert!(pair[0].len() - pair[1].len() <= 1);
                }
            }
        }
        assert_eq!(shard(5, 0, 2), 0..3);
        assert_eq!(shard(5, 1, 2), 3..5);
    }
}
