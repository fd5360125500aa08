// `latco sweep --help` and `latco report --help`: their flags (they read no config keys themselves;
// each run of a sweep is a `latco train` or `latco demo` with the keys those list).
#include "app/command.h"

namespace latco {

CommandHelp help_sweep() {
  return CommandHelp{"latco sweep plan SWEEP.yaml --out runs/NAME | run runs/NAME --index I [--retry-failed] | "
                    "local runs/NAME [--jobs J] [--retry-failed] | slurm runs/NAME [--partition P] [--time MINUTES] "
                    "[--cpus C] [--mem M] [--gpus G] [--max-running K] [--submit] | status runs/NAME",
                    {{"--out", "", "plan: the sweep's folder (one folder per run, sweep.tsv)"},
                     {"--index", "", "run: the entry of sweep.tsv to run (skipped when finished, resumed when it "
                                     "has a checkpoint)"},
                     {"--retry-failed", "", "run, local: run failed entries again"},
                     {"--jobs", "1", "local: entries run at once, each with cores/J threads"},
                     {"--partition", "the sweep file's slurm_partition", "slurm: partition (none: the cluster's default)"},
                     {"--time", "the sweep file's slurm_time", "slurm: time limit per entry, minutes"},
                     {"--cpus", "the sweep file's slurm_cpus", "slurm: CPUs per entry"},
                     {"--mem", "the sweep file's slurm_mem", "slurm: memory per entry (none: not requested)"},
                     {"--gpus", "the sweep file's slurm_gpus", "slurm: GPUs per entry (none: not requested)"},
                     {"--max-running", "", "slurm: array tasks running at once (%K)"},
                     {"--submit", "", "slurm: call sbatch on sweep.sbatch and print the job id"}},
                    "plan|run|local|slurm|status, then the sweep file (plan) or folder",
                    {}};
}

CommandHelp help_report() {
  return CommandHelp{"latco report runs/NAME [--out DIR] [--last K]",
                            {{"--out", "runs/NAME/report", "folder for report.md, scores.json and the figures (curves.png for train sweeps, model_curves.png for demo sweeps)"},
                             {"--last", "1", "a run's final success: the mean of its last K evaluations"}},
                            "the sweep folder",
                            {}};
}

}  // namespace latco
