// dist/mpi_sweep.h — the planner's waves spread over MPI ranks (OpenMPI).
//
// Every rank enumerates, rejects and bounds the same plans (cheap, deterministic); each wave of
// plans is split round-robin over the ranks, each rank simulates its share on its own threads,
// and the results are all-gathered, so every rank prunes and ranks identically and rank 0's
// answer equals a single-process search's.
#pragma once

#include <mpi.h>

#include "search/planner.h"

namespace apex {

WaveRunner make_mpi_wave_runner(MPI_Comm comm);

}  // namespace apex
