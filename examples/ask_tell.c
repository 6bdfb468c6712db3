/*
 * ask_tell.c — the smallest complete use of caviar's C API: a TPE study with median pruning
 * tunes a learning rate (log scale) and a momentum beta (one-minus-log scale) of a simulated
 * training run, whose loss curve is best near lr = 3e-3 and beta = 0.99.
 *
 *   cc ask_tell.c $(pkg-config --cflags --libs caviar) -o ask_tell && ./ask_tell
 */
#include <math.h>
#include <stdio.h>

#include <caviar.h>

/* Loss after `epoch` epochs of a pretend training run: it falls towards a floor that depends
 * on how far lr and beta are from their best values (on their own scales). */
static double simulated_loss(double lr, double beta, int epoch)
{
    double a = log10(lr / 3e-3), b = log10((1 - beta) / 0.01);
    double floor_ = 0.1 + a * a + 0.3 * b * b;
    return floor_ + 2.0 * exp(-0.3 * epoch * (1 + 0.5 * a));
}

int main(void)
{
    caviar_study_opts o;
    caviar_study_opts_init(&o);
    o.name = "example";
    o.seed = 42;
    o.sampler = "tpe";
    o.pruner = "median";
    caviar_error err;
    caviar_study *s = caviar_study_new(&o, &err);
    if (!s) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    for (int i = 0; i < 60; i++) {
        caviar_trial *t = caviar_study_ask(s, &err);
        double lr, beta;
        if (!t ||
            caviar_trial_suggest_float(t, "lr", 1e-5, 1, CAVIAR_SCALE_LOG, 0, &lr, &err) ||
            caviar_trial_suggest_float(t, "momentum", 0.9, 0.999, CAVIAR_SCALE_ONE_MINUS_LOG, 0,
                                       &beta, &err)) {
            fprintf(stderr, "%s\n", err.msg);
            caviar_study_free(s);
            return 1;
        }
        double loss = NAN;
        caviar_trial_state end = CAVIAR_TRIAL_COMPLETE;
        for (int epoch = 1; epoch <= 10; epoch++) {
            loss = simulated_loss(lr, beta, epoch);
            caviar_trial_report(t, epoch, loss, &err);
            if (caviar_trial_should_prune(t)) {
                end = CAVIAR_TRIAL_PRUNED;
                break;
            }
        }
        caviar_study_tell(s, t, end, loss, &err);
    }
    caviar_study_summary sum;
    caviar_study_summarize(s, &sum);
    caviar_trial_view best;
    if (caviar_study_best(s, &best, &err) != CAVIAR_OK) {
        fprintf(stderr, "%s\n", err.msg);
        caviar_study_free(s);
        return 1;
    }
    printf("%zu trials: %zu complete, %zu pruned; best loss %.4f (trial %llu):", sum.n_trials,
           sum.n_complete, sum.n_pruned, best.value, (unsigned long long)best.number);
    for (size_t p = 0; p < best.n_params; p++)
        printf(" %s=%.4g", best.param_names[p], best.param_values[p]);
    printf("\n");
    int ok = best.value < 0.5 && sum.n_pruned > 0;
    caviar_study_free(s);
    return ok ? 0 : 1;
}
