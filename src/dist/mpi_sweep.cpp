#include "dist/mpi_sweep.h"

#include <string>
#include <vector>

#include "core/parallel.h"
#include "dist/serialize.h"

namespace apex {

WaveRunner make_mpi_wave_runner(MPI_Comm comm) {
  return [comm](std::vector<PlanOutcome*>& wave, int threads,
                const std::function<void(PlanOutcome&)>& simulate) {
    int rank = 0, size = 1;
    MPI_Comm_rank(comm, &rank);
    MPI_Comm_size(comm, &size);
    // This rank's share: wave entries i with i % size == rank.
    std::vector<std::size_t> mine;
    for (std::size_t i = 0; i < wave.size(); ++i) {
      if (static_cast<int>(i % static_cast<std::size_t>(size)) == rank) mine.push_back(i);
    }
    parallel_for(mine.size(), threads, [&](std::size_t k) { simulate(*wave[mine[k]]); });
    Json mine_json = Json::array();
    for (std::size_t i : mine)
      mine_json.push_back(Json{{"i", i}, {"o", outcome_to_json(*wave[i])}});
    const std::string payload = mine_json.dump();
    // All-gather the variable-length payloads.
    const int length = static_cast<int>(payload.size());
    std::vector<int> lengths(static_cast<std::size_t>(size));
    MPI_Allgather(&length, 1, MPI_INT, lengths.data(), 1, MPI_INT, comm);
    std::vector<int> offsets(static_cast<std::size_t>(size), 0);
    for (std::size_t r = 1; r < offsets.size(); ++r)
      offsets[r] = offsets[r - 1] + lengths[r - 1];
    std::string all(static_cast<std::size_t>(offsets.back() + lengths.back()), '\0');
    MPI_Allgatherv(payload.data(), length, MPI_CHAR, all.data(), lengths.data(), offsets.data(), MPI_CHAR,
                   comm);
    for (int r = 0; r < size; ++r) {
      if (r == rank) continue;
      const Json part =
          Json::parse(all.substr(static_cast<std::size_t>(offsets[static_cast<std::size_t>(r)]),
                                 static_cast<std::size_t>(lengths[static_cast<std::size_t>(r)])));
      for (const auto& e : part)
        outcome_from_json(e.at("o"), *wave[e.at("i").get<std::size_t>()]);
    }
  };
}

}  // namespace apex
