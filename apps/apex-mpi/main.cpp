// apps/apex-mpi/main.cpp — `mpirun -np K apex-mpi search <the options of apex search>`.
// Every rank parses the same command line into the same api::SearchRequest; the planner's
// simulations are spread over the ranks (src/dist/mpi_sweep.h); rank 0 prints. A user error is
// detected identically on every rank: rank 0 prints it, all ranks exit 2.
#include <mpi.h>
#include <unistd.h>

#include <iostream>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "api/api.h"
#include "api/cli.h"
#include "api/options.h"
#include "api/output.h"
#include "core/error.h"
#include "dist/mpi_sweep.h"

int main(int argc, char** argv) {
  MPI_Init(&argc, &argv);
  int rank = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  int code = 0;
  {
    CLI::App app{"apex-mpi — APEX plan search spread over MPI ranks"};
    app.require_subcommand(1);
    apex::api::SearchRequest request;
    const apex::api::CliCommand srch(app, apex::api::Command::Search);
    try {
      try {
        app.parse(argc, argv);
      } catch (const CLI::ParseError& e) {
        if (rank == 0)
          code = app.exit(e);
        else
          code = e.get_exit_code() == 0 ? 0 : 2;
        if (code != 0) code = 2;
        MPI_Finalize();
        return code;
      }
      srch.reject_extras();
      srch.apply(apex::api::target(request));
      const apex::Format format = apex::api::resolve_format(request.output, isatty(STDOUT_FILENO) != 0);
      const apex::api::SearchResponse r =
          apex::api::search(request, apex::make_mpi_wave_runner(MPI_COMM_WORLD));
      if (rank == 0) {
        std::vector<std::string> warnings = r.warnings;
        const std::vector<std::string> output = apex::api::output_warnings(request.output, format);
        warnings.insert(warnings.end(), output.begin(), output.end());
        for (const auto& w : warnings)
          std::cerr << "apex-mpi: warning: " << apex::api::render_for_cli(w) << "\n";
        apex::api::write_output(request.output, r.render(format));
      }
    } catch (const apex::UserError& e) {
      if (rank == 0) std::cerr << "apex-mpi: " << apex::api::render_for_cli(e.what()) << "\n";
      code = 2;
    } catch (const apex::OutputError& e) {
      std::cerr << "apex-mpi: " << e.what() << "\n";  // only rank 0 writes
      code = 1;
    } catch (const std::exception& e) {
      std::cerr << "apex-mpi (rank " << rank << "): internal error: " << e.what() << "\n";
      MPI_Abort(MPI_COMM_WORLD, 1);
    }
  }
  MPI_Finalize();
  return code;
}
