// A network as one flat parameter buffer plus the loops that run and train it.
//
// Parameters are stored W0, b0, W1, b1, ... in one contiguous array; W_l is
// (sizes[l], sizes[l+1]) row-major and b_l is (sizes[l+1]). The buffer itself
// belongs to the caller (a NumPy array on the Python side): this file only
// describes where each layer lives in it and runs the math. What training
// means (a step that is not taken when the loss is not finite, the rollback
// of an update that overflows) is decided here, for step and fit alike.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "ops.h"

namespace plainnet {

// Element counts (parameters, buffer entries, iterations) above this are
// refused: they cannot be allocated anyway, and staying below it keeps every
// index computation clear of int64 overflow. The Python layer owns the limit
// users see (plainnet._layout.MAX_ELEMENTS, tested equal to this).
constexpr int64_t kMaxElements = int64_t(1) << 62;

// Parse a name of the tables in ops.h; throw std::invalid_argument.
Act act_from_name(const std::string& name);
Loss loss_from_name(const std::string& name);
Optim optim_from_name(const std::string& name);

// The activation name of the one row-wise output activation (ops.h).
constexpr const char* kSoftmaxName = "softmax";

struct Layout {
    std::vector<int64_t> sizes;  // layer widths, input first: [2, 4, 1]
    std::vector<Act> acts;       // one per layer after the input
    Loss loss = Loss::mse;       // what training minimises
    bool softmax = false;        // the last layer's a is the softmax of its z (acts.back() is linear)
    std::vector<int64_t> w_off;  // offset of W_l in the parameter buffer
    std::vector<int64_t> b_off;  // offset of b_l
    int64_t num_params = 0;
    int64_t max_width = 0;       // the widest layer after the inputs (scratch per row)
    // Training's dropout: the rate of each hidden layer's output (num_layers()
    // - 1 entries, each in [0, 1)), or empty for none. Only fit and step use
    // it; forward, predict, evaluate and gradients compute the inference
    // network.
    std::vector<double> dropout;

    // Throws std::invalid_argument on fewer than two sizes, a size < 1, more
    // than kMaxElements parameters or a wrong number of activations.
    Layout(std::vector<int64_t> sizes, std::vector<Act> acts, Loss loss = Loss::mse,
           bool softmax = false);
    // From names: activations of ops.h's table or "softmax" (last layer only),
    // and a loss name. Throws std::invalid_argument on an unknown name or a
    // loss that does not go with the output activation: cross_entropy needs
    // softmax and softmax needs it, binary_cross_entropy needs sigmoid.
    static Layout from_names(std::vector<int64_t> sizes, const std::vector<std::string>& acts,
                             const std::string& loss);
    // This layout with the given dropout rates (empty: none). Throws
    // std::invalid_argument on a wrong count or a rate outside [0, 1).
    Layout with_dropout(std::vector<double> rates) const;
    // The dropout rate of layer l's output (0 for the output layer).
    double dropout_of(int64_t l) const {
        return size_t(l) < dropout.size() ? dropout[size_t(l)] : 0.0;
    }
    int64_t num_layers() const { return int64_t(acts.size()); }
    int64_t inputs() const { return sizes.front(); }
    int64_t outputs() const { return sizes.back(); }
    // Whether predictions can be right or wrong: cross-entropy (arg-max of a
    // row) and binary cross-entropy (each output against 0.5).
    bool classifies() const { return loss != Loss::mse; }
};

// Called with the number of completed iterations (0 outside fit) while long
// work runs; may throw to abort it (Ctrl-C). Never called more often than
// every kPollMillis of wall time (see Poller).
using PollHook = std::function<void(int64_t)>;
constexpr int64_t kPollMillis = 50;

// Calls a PollHook when kPollMillis have passed since the last call (or since
// the Poller was made). It is checked after every iteration, chunk, band or
// layer, with the work done since the last check (multiply-adds, or 0), so
// the time between polls is bounded by the longest stretch of work between
// two checks, not by a count of iterations. The clock is read only once
// kPollWork units of work have gone by (a call counts kPollCallWork besides
// its own): a check after each of a tiny network's layers costs an integer
// add, where a clock read after each was half again an XOR iteration's time.
constexpr int64_t kPollWork = int64_t(1) << 20;   // about 0.1-3 ms of products
constexpr int64_t kPollCallWork = int64_t(1) << 12;
class Poller {
  public:
    Poller() = default;
    explicit Poller(const PollHook* hook)
        : hook_(hook != nullptr && *hook ? hook : nullptr), last_(clock::now()) {}
    // Polls if it is time, reporting `done` completed iterations.
    void operator()(int64_t done = 0, int64_t work = 0) {
        if (hook_ == nullptr) return;
        pending_ += work + kPollCallWork;
        if (pending_ < kPollWork) return;
        pending_ = 0;
        const auto now = clock::now();
        if (now - last_ < std::chrono::milliseconds(kPollMillis)) return;
        last_ = now;
        (*hook_)(done);
    }

  private:
    using clock = std::chrono::steady_clock;
    const PollHook* hook_ = nullptr;
    clock::time_point last_{};
    int64_t pending_ = 0;  // work since the clock was last read
};

// Runs X (m, inputs) through the network, writing layer l's pre-activation
// to z[l] and its activation to a[l], each (m, sizes[l+1]).
// poll (may be null) is checked after every layer, as fit's is.
template <typename T>
void forward(const Layout& L, const T* params, const T* X, int64_t m, T* const* z, T* const* a,
             const PollHook* poll = nullptr);

// A network's wide layers, copied in row panels (fast.h) for predictions of
// a few rows at a time: a layer wider than one panel has its W copied at
// offset[l] of the panels array, in panels `width` columns wide; the others
// (offset -1) are read where they lie, as one panel already. size: the
// array's elements; 0 when no layer is wider than a panel.
struct RowPanels {
    int64_t width = 0;
    std::vector<int64_t> offset;
    int64_t size = 0;
    RowPanels(const Layout& L, int64_t width);
};
// The width of the row panels the kernels in use read; 0: none.
template <typename T>
int64_t row_panel_width();
// Copies params' wide layers into panels (RowPanels(L, width).size elements).
template <typename T>
void pack_row_panels(const Layout& L, const T* params, int64_t width, T* panels);

// The predictions alone: out (m, outputs). Rows go through in chunks, so the
// scratch memory is a chunk of rows of two layers, whatever m is. Each chunk
// of X is checked as it is read: a NaN or +-Inf throws NonFiniteInput.
// poll (may be null) is checked after every layer of every chunk.
// panels (may be null): params' copy by pack_row_panels, laid out as
// `layout` says, read for a few rows instead of the weights; ignored unless
// layout->width is still row_panel_width<T>() (the kernel variant may have
// changed). The results are the same, bit for bit, with or without.
template <typename T>
void predict(const Layout& L, const T* params, const T* X, int64_t m, T* out,
             const PollHook* poll = nullptr, const T* panels = nullptr,
             const RowPanels* layout = nullptr);

// X (m, inputs) holds a NaN or +-Inf: its first one is X[row][column].
struct NonFiniteInput : std::invalid_argument {
    int64_t row, column;
    double value;
    NonFiniteInput(int64_t row_, int64_t column_, double value_)
        : std::invalid_argument("X: expected finite values"), row(row_), column(column_),
          value(value_) {}
};

// grads (num_params) = the gradient of the objective E of L.loss (ops.h) on
// (X, y); returns the loss as reported. poll (may be null) is checked after
// every layer of the forward and the backward pass.
template <typename T>
double gradients(const Layout& L, const T* params, const T* X, const T* y, int64_t m, T* grads,
                 const PollHook* poll = nullptr);

// The full-batch objective of one training iteration over all m rows and its
// gradient, written into the caller's grads (num_params; need not be zeroed):
// rows weighted by w (null: 1 each), plus FitOptions::l2's penalty. Returns
// the objective whose gradient grads is, E + l2 / (2 w_sum) * sum_l ||W_l||^2,
// E as in ops.h (for mse, sum / (2m), which is the reported loss * K / 2).
// For an optimizer that wants f and its gradient in one call (L-BFGS).
// Polled as gradients is.
template <typename T>
double loss_and_gradient(const Layout& L, const T* params, const T* X, const T* y, const T* w,
                         int64_t m, double l2, T* grads, const PollHook* poll = nullptr);

struct Evaluation {
    double loss = 0.0;    // the loss as reported
    int64_t correct = 0;  // rows (cross-entropy) or outputs (BCE) predicted right; 0 for MSE
};

// The loss of the network on (X, y), and how many predictions are right,
// in chunks of rows as predict runs (and polled as predict is).
template <typename T>
Evaluation evaluate(const Layout& L, const T* params, const T* X, const T* y, int64_t m,
                    const PollHook* poll = nullptr);

struct StepResult {
    double loss = 0.0;     // the loss before the update
    bool updated = false;  // false: the loss was not finite, or the update
                           // overflowed and was undone; params are unchanged
};

// One forward + backward + plain gradient-descent update on (X, y), with the
// rules of fit. With dropout (L.dropout), its masks are those of batch 0 of
// epoch 0 of a fit with this seed.
template <typename T>
StepResult step(const Layout& L, T* params, const T* X, const T* y, int64_t m, double lr,
                uint64_t seed = 0);

// What early stopping (and the best epoch) watches: the validation loss
// (lower is better), the training loss of the epoch (lower is better; its
// weights are never put back), or the validation accuracy (higher is better).
enum class Monitor { val_loss, loss, val_accuracy };
constexpr const char* kMonitorNames[] = {"val_loss", "loss", "val_accuracy"};

// Parse "val_loss", "loss" or "val_accuracy"; throw std::invalid_argument.
Monitor monitor_from_name(const std::string& name);

// Learning-rate schedules: torch.optim.lr_scheduler's, with its formulas
// (recursive where torch's step() is), so that a schedule run here gives the
// rates torch gives to the last bit. python/plainnet/optim/lr_scheduler.py
// holds their settings, checks them and starts a schedule's state; fit steps
// an epoch schedule after every epoch and sets one_cycle's rate (and
// momentum) before every update.
// inv_scaling and adaptive are scikit-learn's MLP rates (learning_rate=).
enum class Sched { none, step, multi_step, exponential, cosine, one_cycle, plateau, inv_scaling,
                   adaptive };
constexpr const char* kScheduleNames[] = {"none",   "step",      "multi_step", "exponential",
                                          "cosine", "one_cycle", "plateau",    "inv_scaling",
                                          "adaptive"};
Sched schedule_from_name(const std::string& name);  // throws std::invalid_argument

// A schedule's state: a float64 array of kScheduleSlots numbers that fit
// updates in place (and saves write out): the scheduler's step count
// (torch's last_epoch), the rate and momentum of the next update, and
// ReduceLROnPlateau's best value, bad epochs and cooldown epochs left.
enum ScheduleSlot { kLastEpoch, kRate, kMomentum, kBest, kBadEpochs, kCooldownLeft, kScheduleSlots };

struct Schedule {
    Sched kind = Sched::none;
    double base_lr = 0.0;              // the optimizer's rate when the schedule started
    double gamma = 0.1;                // step, multi_step, exponential
    int64_t step_size = 1;             // step
    std::vector<int64_t> milestones;   // multi_step: sorted, repeats count
    int64_t t_max = 1;                 // cosine
    double eta_min = 0.0;              // cosine
    // one_cycle: rates initial_lr -> max_lr -> min_lr over total_steps updates.
    int64_t total_steps = 1;
    double pct_start = 0.3, initial_lr = 0.0, max_lr = 0.0;
    double base_momentum = 0.85, max_momentum = 0.95;
    bool anneal_cos = true, cycle_momentum = true, three_phase = false;
    double min_lr = 0.0;               // one_cycle's last rate; plateau's floor
    // plateau
    bool mode_max = false, threshold_rel = true;
    double factor = 0.1, threshold = 1e-4, eps = 1e-8;
    int64_t patience = 10, cooldown = 0;
    // inv_scaling: lr = base_lr / (t + 1)^power_t after each epoch, t the
    // rows trained on so far, each counting its sample weight (its step
    // count counts rows, not epochs).
    double power_t = 0.5;
    // adaptive: scikit-learn's rule, on the monitored value (mode_max,
    // threshold and patience as plateau's, absolute): more than `patience`
    // epochs in a row without improving on the best by `threshold` divide the
    // rate by 5, or stop the fit once the rate is at most stop_lr.
    double stop_lr = 1e-6;
};

// One epoch step of an epoch schedule (not one_cycle): torch's step(), or
// ReduceLROnPlateau's step(metric), after an epoch of `rows` rows (the sum
// of their sample weights, when they have some). Advances state in place;
// returns true when the schedule ends the fit (adaptive).
bool schedule_epoch_step(const Schedule& s, double* state, double metric, double rows);
// OneCycleLR's rate and momentum at step `step` (torch's get_lr()).
void one_cycle_at(const Schedule& s, int64_t step, double& lr, double& momentum);

struct FitOptions {
    Optim optim = Optim::sgd;  // the update rule, and its settings
    Optimizer settings;
    int64_t steps = 0;         // updates the optimizer's state has seen before this fit
    int64_t epochs = 1;
    int64_t first_epoch = 0;   // epochs trained before this fit: the shuffles continue from there
    int64_t batch_size = 0;    // 0 or >= m: full batch
    bool shuffle = true;
    uint64_t seed = 0;
    int64_t log_every = 0;     // 0: never call on_log
    // Early stopping on the monitored quantity (the validation ones need
    // validation data): stop after `patience` epochs (0: never) without an
    // improvement of more than min_delta, and then, if restore_best and a
    // validation quantity is watched, put back the best epoch's weights.
    Monitor monitor = Monitor::val_loss;
    int64_t patience = 0;
    double min_delta = 0.0;
    bool restore_best = true;
    // scikit-learn's alpha: each batch's objective gains l2 / (2 w_sum) *
    // sum_l ||W_l||^2, the weights only (w_sum: the batch's rows, or the sum
    // of its row weights); its value is part of the loss reported.
    double l2 = 0.0;
    // Gradient clipping of each batch's gradient (0: off), after l2:
    // torch.nn.utils.clip_grad_norm_ (2-norm over all parameters) and
    // clip_grad_value_.
    double clip_norm = 0.0;
    double clip_value = 0.0;
    // The learning-rate schedule and its state (kScheduleSlots numbers,
    // updated in place; null when kind is none).
    Schedule schedule;
    double* schedule_state = nullptr;
};

// Where fit writes one row per epoch: training loss (row-weighted mean of the
// epoch's batch losses), training accuracy (of the predictions made on the
// batches during the epoch), validation loss and validation accuracy. NaN
// where there is nothing to report (no validation data; MSE accuracy).
constexpr int kEpochColumns = 4;

struct FitResult {
    int64_t iterations = 0;  // completed iterations (entries written to loss_out)
    int64_t updates = 0;     // optimizer updates that stand (its step count advances by this)
    int64_t epochs = 0;      // epochs completed (rows written to epoch_out)
    int64_t best_epoch = -1; // the epoch of the best monitored value; -1 when there is none
    bool nonfinite = false;  // stopped because the loss became NaN/Inf
    bool stopped = false;    // stopped because on_log returned false
    bool early_stopped = false;  // stopped by patience
};

// Called with (iteration, loss) every log_every iterations; return false to stop.
using LogHook = std::function<bool(int64_t, double)>;
// Called after an epoch, at most once every kProgressMillis of wall time,
// with the epochs and iterations completed so far and that epoch's row of
// epoch_out (kEpochColumns values); may throw to abort. For progress bars:
// the first call comes kProgressMillis after the fit starts, none after the
// last epoch (the caller has the final row when fit returns).
using ProgressHook = std::function<void(int64_t epochs, int64_t iterations, const double* row)>;
constexpr int64_t kProgressMillis = 200;

// Iterations of a fit; -1 when there would be more than kMaxElements.
int64_t fit_iterations(int64_t m, int64_t epochs, int64_t batch_size);

// The fused training loop: epochs x batches of forward, loss, backward, update.
// loss_out receives one loss per iteration run, epoch_out kEpochColumns per
// epoch completed: both grow as training goes (room for the next entry is made
// before an iteration starts, so running out of memory stops between
// iterations), never sized for the epochs asked for. state holds optimizer_slots(opt.optim)
// arrays of num_params, updated in place. w (m, or null) weighs the rows:
// each batch's loss and objective are then the weighted means over its rows
// (0 for a batch whose weights sum to 0). X_val/y_val (m_val rows, 0: none)
// are evaluated after every epoch, unweighted. on_log, poll and progress may
// be empty.
// If a loss is NaN/Inf, or an update makes a parameter NaN/Inf, params and
// state are restored to the last iterate whose loss is finite (the last one
// recorded) and the loop stops with result.nonfinite set.
template <typename T>
FitResult fit(const Layout& L, T* params, T* const* state, const T* X, const T* y, const T* w,
              int64_t m, const T* X_val, const T* y_val, int64_t m_val, const FitOptions& opt,
              std::vector<double>& loss_out, std::vector<double>& epoch_out,
              const LogHook& on_log, const PollHook& poll,
              const ProgressHook& progress = ProgressHook());

// Dropout's masks come from a counter-based hash, so that they depend on
// nothing but their key: not on threads, kernel variants or what ran before.
// The stream of hidden layer l on batch b of epoch e of a fit with `seed` is
// mix64(mix64(mix64(mix64(seed ^ kDropoutSalt) ^ e) ^ b) ^ l) (splitmix64's
// finaliser); the unit at flat index i of the batch's (rows, width) output
// takes the low (i even) or high (i odd) 32 bits of mix64(stream ^ (i / 2))
// and is dropped when they are below p * 2**32. reference.py draws the same.
constexpr uint64_t kDropoutSalt = 0x64726F706F757421ULL;  // "dropout!"
uint64_t dropout_stream(uint64_t seed, uint64_t epoch, uint64_t batch, uint64_t layer);
// keep (n) = 0 for a dropped unit, T(1 / (1 - p)) for a kept one (inverted dropout).
template <typename T>
void dropout_keep(T* keep, int64_t n, double p, uint64_t stream);

// Sample order for one epoch: argsort of a counter-based hash of
// (seed, epoch, index). reference.py computes the same permutation in NumPy.
void epoch_permutation(int64_t* perm, int64_t m, uint64_t seed, uint64_t epoch);
// The same, with the scratch for the keys given (fit reuses it every epoch).
void epoch_permutation(int64_t* perm, int64_t m, uint64_t seed, uint64_t epoch,
                       std::vector<std::pair<uint64_t, int64_t>>& keys);

}  // namespace plainnet
