//! The job this process belongs to: alone, or one rank of an MPI job (`--features mpi`,
//! started by `mpirun` or `srun`). Only `train` trains data-parallel; a failing rank ends
//! the whole job, so no rank is left waiting in a collective.

use reponet::distributed::{Collective, SingleProcess};

pub enum World {
    Single(SingleProcess),
    #[cfg(feature = "mpi")]
    Mpi(reponet::distributed::Mpi),
}

impl World {
    /// Join the MPI job that started this process, if one did.
    pub fn join() -> Self {
        #[cfg(feature = "mpi")]
        if let Some(mpi) = reponet::distributed::Mpi::from_launcher() {
            let world = Self::Mpi(mpi);
            world.end_job_on_panic();
            return world;
        }
        Self::Single(SingleProcess)
    }

    pub fn comm(&self) -> &dyn Collective {
        match self {
            Self::Single(single) => single,
            #[cfg(feature = "mpi")]
            Self::Mpi(mpi) => mpi,
        }
    }

    /// This process's rank among those on its machine (0 alone): which GPU it takes.
    pub fn local_rank(&self) -> usize {
        self.comm().local_rank()
    }

    /// Whether this process prints: rank 0 of a job, or a process on its own.
    pub fn is_root(&self) -> bool {
        self.comm().rank() == 0
    }

    /// A name for messages: "" alone, "rank R of N: " in a job.
    pub fn label(&self) -> String {
        let comm = self.comm();
        if comm.size() == 1 {
            String::new()
        } else {
            format!("rank {} of {}: ", comm.rank(), comm.size())
        }
    }

    /// End this process with `code`, and in a job every other rank with it.
    pub fn exit(&self, code: i32) -> ! {
        match self {
            #[cfg(feature = "mpi")]
            Self::Mpi(mpi) if mpi.size() > 1 && code != 0 => mpi.abort(code),
            _ => std::process::exit(code),
        }
    }

    /// A panicking rank would unwind into MPI_Finalize and wait there for the others, who
    /// wait in their next collective for it: the hook prints the panic with the rank and
    /// ends the process at once, without finalizing, which makes the launcher end the job.
    #[cfg(feature = "mpi")]
    fn end_job_on_panic(&self) {
        let label = self.label();
        let default = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            eprint!("{label}");
            default(info);
            // SAFETY: _exit ends the process without running anything else; nothing of
            // this process is needed after a panic.
            unsafe { libc::_exit(101) };
        }));
    }
}
