#include "threads.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#if defined(__linux__)
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <unistd.h>
#endif

namespace plainnet {
namespace threads {
namespace {

int cpus_available() {
#if defined(__linux__)
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof(set), &set) == 0) {
        int n = CPU_COUNT(&set);
        if (n > 0) return n;
    }
#endif
    unsigned n = std::thread::hardware_concurrency();
    return n > 0 ? int(n) : 1;
}

int initial_count() {
    if (const char* env = std::getenv("PLAINNET_NUM_THREADS")) {
        char* end = nullptr;
        long n = std::strtol(env, &end, 10);
        if (end != env && *end == '\0' && n >= 1 && n <= 1024) return int(n);
    }
    return cpus_available();
}

std::atomic<int> g_count{initial_count()};

using Clock = std::chrono::steady_clock;

std::atomic<long long> g_pooled{0}, g_alone{0}, g_gave_up{0}, g_waited_ns{0};

// How long an idle worker spins before it sleeps.
constexpr std::chrono::microseconds kSpin{200};

// One turn of a wait on another thread: the first kPauses turns only tell
// the core that this is a spin (a few ns each; the other thread's news
// arrives within a cache line's transfer), later ones give the CPU to any
// other thread that wants it (a system call: a microsecond or so).
constexpr int kPauses = 256;
inline void relax(int spins) {
#if defined(__x86_64__) || defined(__i386__)
    if (spins < kPauses) return __builtin_ia32_pause();
#else
    (void)spins;
#endif
    std::this_thread::yield();
}

// A caller that, done with its own items, waits for a worker's last item
// longer than kGiveUpRatio times its own longest item (and at least
// kNoticedWait) is working beside a starved worker: that worker's core is
// being taken by something else (NumPy's BLAS threads spinning after a
// product or computing in another thread, another process). A worker that
// merely woke up late never makes the caller wait that long: it only takes
// an item the caller has not yet reached, and one that merely runs slower
// (sharing its core with a thread that yields, say) still does its share.
// Waiting for a starved worker makes
// two threads slower than one, so the pool then gives up on its workers for
// a while, in proportion to the wait: every caller's work runs on its own
// thread alone for `patience` times the wait (at most kLongestAlone), after
// which the pool tries its workers again. The patience doubles at each
// give-up, up to kMostPatience, and halves at each job the workers did not
// hold up, down to kLeastPatience: where the other core stays taken (NumPy
// computing in another thread), the waits soon cost a few percent of the
// time or less; where it was a passing hiccup, the pool is back within
// milliseconds.
//
// A worker that was awake (spinning after the job before) and does not come
// at all through a whole job of more than kAbsent is starved too; the pool
// then gives up as if the caller had waited kAbsent, which it did not have
// to. (A worker that was asleep may take that long to wake up on an idle
// machine, whose idle cores sleep too: its absence says nothing.)
constexpr std::chrono::microseconds kNoticedWait{20};
constexpr std::chrono::microseconds kAbsent{1000};
constexpr double kGiveUpRatio = 4.0;
constexpr int kLeastPatience = 16;
constexpr int kMostPatience = 256;
constexpr std::chrono::milliseconds kLongestAlone{250};

// Workers wait for a new generation of work, spinning briefly first: in a
// training loop the next product follows within microseconds, and a sleeping
// thread takes far longer than that to wake up. The spin is bounded in time
// (kSpin), so that once plainnet is done, its worker leaves the core to
// whatever runs next (NumPy's BLAS threads, say) within a fraction of a
// millisecond instead of competing with it.
//
// The whole state of a job is one atomic word: generation (32 bits), number
// of items (16) and next unclaimed item (16). A worker claims an item with a
// compare-and-swap that only succeeds within the generation it woke up for,
// so a worker that is late never takes an item of a later job.
//
// A sleeping worker is woken onto another CPU than its caller's. Linux may
// otherwise queue the woken thread on the CPU of the thread that woke it,
// the caller's, even with the other CPU idle (as it did on this project's
// 2-vCPU test machine: every 10,000-row predict after a pause of 0.1 s or
// more ran on one core, the worker starting only when the caller was done).
// So before waking it, the caller takes its own CPU out of the sleeping
// worker's affinity, and the worker, once up, takes back the affinity it
// started with: one system call each, only when a worker was asleep.
class Pool {
  public:
    explicit Pool(int workers) : flags_(new Flags[size_t(workers)]) {
#if defined(__linux__)
        has_mask_ = sched_getaffinity(0, sizeof mask_, &mask_) == 0;
#endif
        for (int i = 0; i < workers; i++) threads_.emplace_back([this, i] { loop(size_t(i)); });
    }
    int workers() const { return int(threads_.size()); }
    // Whether its threads run in this process (not in the parent of a fork).
    bool ours() const {
#if defined(__linux__)
        return pid_ == getpid();
#else
        return true;
#endif
    }
    std::mutex& busy() { return busy_; }
    // How many of the first `workers` workers are awake (spinning or working).
    int awake(int workers) const {
        int n = 0;
        for (size_t i = 0; i < std::min(threads_.size(), size_t(workers)); i++)
            n += !flags_[i].asleep.load(std::memory_order_relaxed);
        return n;
    }
    // Whether callers should run their work alone for now, the pool having
    // given up on a starved worker (see kGiveUpRatio).
    bool given_up() const {
        return Clock::now().time_since_epoch().count() <
               alone_until_.load(std::memory_order_relaxed);
    }

    // Caller holds busy(). Runs items [0, n) on the workers and the caller;
    // if the caller then waited for a starved worker, gives up on the
    // workers for a while and returns true.
    // Only the first `workers` workers join (a pool made for more threads
    // than set_num_threads now allows keeps its other workers out).
    bool run(int n, void (*fn)(void*, int), void* ctx, int workers) {
        const Clock::duration waited = starved_wait(n, fn, ctx, workers);
        if (waited.count() == 0) {
            patience_ = std::max(kLeastPatience, patience_ / 2);
            return false;
        }
        const Clock::duration alone =
            std::min<Clock::duration>(waited * patience_, kLongestAlone);
        alone_until_.store((Clock::now() + alone).time_since_epoch().count(),
                           std::memory_order_relaxed);
        patience_ = std::min(kMostPatience, patience_ * 2);
        return true;
    }

  private:
    // Runs the job; returns how long the caller waited for a starved worker
    // (see kGiveUpRatio), or zero.
    Clock::duration starved_wait(int n, void (*fn)(void*, int), void* ctx, int workers) {
        fn_ = fn;
        ctx_ = ctx;
        active_.store(workers, std::memory_order_relaxed);  // published with state_
        pending_.store(n, std::memory_order_relaxed);
        uint32_t gen = ++generation_;
        state_.store((uint64_t(gen) << 32) | (uint64_t(n) << 16), std::memory_order_release);
        const auto start = Clock::now();
        const bool awake = !any_asleep(workers);
        if (!awake) keep_off_my_cpu(workers);
        { std::lock_guard<std::mutex> lock(mu_); }  // a worker about to sleep sees the new state
        wake_.notify_all();
        int mine = 0;
        const Clock::duration longest = work(gen, &mine);
        const auto done = Clock::now();
        if (pending_.load(std::memory_order_acquire) == 0) {
            // No worker came, though none was asleep, for a job long enough
            // to join it: its core is taken. Giving up now costs no wait.
            return awake && mine == n && done - start > kAbsent ? kAbsent : Clock::duration{0};
        }
        for (int spins = 0; pending_.load(std::memory_order_acquire) != 0; spins++) relax(spins);
        const auto waited = Clock::now() - done;
        g_waited_ns.fetch_add(std::chrono::duration_cast<std::chrono::nanoseconds>(waited).count(),
                              std::memory_order_relaxed);
        // A caller that got no item at all has nothing to compare with.
        const bool starved = longest.count() > 0 && waited > kNoticedWait &&
                             std::chrono::duration<double>(waited).count() >
                                 kGiveUpRatio * std::chrono::duration<double>(longest).count();
        return starved ? waited : Clock::duration{0};
    }

    static uint32_t gen_of(uint64_t s) { return uint32_t(s >> 32); }

    // Whether any of the first `workers` workers is asleep on wake_.
    bool any_asleep(int workers) const { return awake(workers) < workers; }

    // Before waking the job's sleeping workers (the first `workers`): each
    // one that is asleep may run anywhere it could but on the caller's CPU
    // (see the class comment).
    void keep_off_my_cpu(int workers) {
#if defined(__linux__)
        const int cpu = sched_getcpu();
        if (!has_mask_ || cpu < 0 || cpu >= CPU_SETSIZE) return;
        cpu_set_t others = mask_;
        CPU_CLR(cpu, &others);
        if (CPU_COUNT(&others) == 0) return;
        for (size_t i = 0; i < std::min(threads_.size(), size_t(workers)); i++) {
            Flags& f = flags_[i];
            if (!f.asleep.load(std::memory_order_relaxed) ||
                f.moved.load(std::memory_order_relaxed))
                continue;
            if (pthread_setaffinity_np(threads_[i].native_handle(), sizeof others, &others) == 0)
                f.moved.store(true, std::memory_order_release);
        }
#else
        (void)workers;
#endif
    }

    // Worker i, woken: its own affinity back if the caller had changed it.
    void restore_affinity(size_t i) {
#if defined(__linux__)
        if (flags_[i].moved.exchange(false, std::memory_order_acq_rel))
            pthread_setaffinity_np(pthread_self(), sizeof mask_, &mask_);
#else
        (void)i;
#endif
    }

    // Claims and runs items of job `gen` until none is left; returns the
    // longest one's time, and counts the items run into *items if given.
    Clock::duration work(uint32_t gen, int* items = nullptr) {
        Clock::duration longest{0};
        uint64_t s = state_.load(std::memory_order_acquire);
        for (;;) {
            int n = int((s >> 16) & 0xFFFF), i = int(s & 0xFFFF);
            if (gen_of(s) != gen || i >= n) return longest;
            if (state_.compare_exchange_weak(s, s + 1, std::memory_order_acq_rel,
                                             std::memory_order_acquire)) {
                const auto start = Clock::now();
                fn_(ctx_, i);
                longest = std::max(longest, Clock::now() - start);
                if (items != nullptr) ++*items;
                pending_.fetch_sub(1, std::memory_order_release);
                s = state_.load(std::memory_order_acquire);
            }
        }
    }

    void loop(size_t me) {
#if defined(__linux__)
        pthread_setname_np(pthread_self(), "plainnet-pool");  // as top and /proc show it
#endif
        uint32_t seen = 0;
        for (;;) {
            bool got = false;
            const auto until = std::chrono::steady_clock::now() + kSpin;
            for (int spins = 0; !got; spins++) {
                got = gen_of(state_.load(std::memory_order_acquire)) != seen;
                if (got || std::chrono::steady_clock::now() > until) break;
                relax(spins);
            }
            if (!got) {
                std::unique_lock<std::mutex> lock(mu_);
                flags_[me].asleep.store(true, std::memory_order_relaxed);
                wake_.wait(lock, [&] { return gen_of(state_.load()) != seen; });
                flags_[me].asleep.store(false, std::memory_order_relaxed);
                lock.unlock();
                restore_affinity(me);
            }
            seen = gen_of(state_.load(std::memory_order_acquire));
            if (me < size_t(active_.load(std::memory_order_relaxed))) work(seen);
        }
    }

#if defined(__linux__)
    const pid_t pid_ = getpid();
#endif
    std::vector<std::thread> threads_;
    std::mutex mu_, busy_;
    std::condition_variable wake_;
    std::atomic<uint64_t> state_{0};
    std::atomic<int> pending_{0};
    std::atomic<int> active_{0};  // workers that join the current job
    struct Flags {
        std::atomic<bool> asleep{false};  // on wake_ (not spinning)
        std::atomic<bool> moved{false};   // its affinity changed by a caller
    };
    std::unique_ptr<Flags[]> flags_;  // one per worker
#if defined(__linux__)
    cpu_set_t mask_;         // the affinity the workers started with
    bool has_mask_ = false;
#endif
    uint32_t generation_ = 0;  // only touched by the thread holding busy_
    int patience_ = kLeastPatience;  // likewise
    std::atomic<Clock::rep> alone_until_{0};  // Clock's count; read by every caller
    void (*fn_)(void*, int) = nullptr;
    void* ctx_ = nullptr;
};

std::mutex g_pool_mu;
// Never destroyed: its threads live until the process ends. Read without
// the mutex by every product (concurrent callers do not queue for it);
// replaced under the mutex.
std::atomic<Pool*> g_pool{nullptr};

bool usable(const Pool* pool, int workers) {
    return pool != nullptr && pool->workers() >= workers && pool->ours();
}

// The pool for `workers` extra threads, made on first use (and again in a
// forked child, which inherits the pool's memory but not its threads).
Pool* pool_for(int workers) {
    Pool* pool = g_pool.load(std::memory_order_acquire);
    if (usable(pool, workers)) return pool;
    std::lock_guard<std::mutex> lock(g_pool_mu);
    pool = g_pool.load(std::memory_order_acquire);
    if (!usable(pool, workers)) {
        // An old, smaller pool (or a forked parent's, whose threads are not
        // in this process) is left as it is rather than joined: a thread
        // blocked in it may still be finishing a product.
        pool = new Pool(workers);
        g_pool.store(pool, std::memory_order_release);
    }
    return pool;
}

thread_local int t_serial = 0;  // Serial guards alive on this thread

// Whether the CPUs are all taken: a job's workers would then share their
// cores with other threads, and the caller would wait whenever one of them
// is preempted in the middle of an item, for as long as a time slice (3-5
// ms, against items of 0.1-1 ms). Next to NumPy computing in another thread
// (its thread and OpenBLAS's worker), or right after NumPy's products while
// OpenBLAS's worker spins, a fit on two threads was up to 1.3x slower than
// on one. So a product runs on its caller's thread alone while the threads
// that want a CPU, other than the caller and the pool's awake workers,
// leave fewer CPUs free than the job's workers need (or, for more workers
// than CPUs, any CPU but the caller's taken). Linux counts the threads
// running or waiting to run in /proc/loadavg (its fourth field: "3/250"),
// one system call of about a microsecond to read; it is read at most every
// kCrowdCheck and the answer kept meanwhile. The answer changes only at
// the kReadingsToChange-th reading in a row that disagrees with it: a
// single reading may catch a passing kernel thread, or a worker just woken
// that does not yet say it is awake (on an idle machine, 3 % of readings
// during a fit found one thread more than the fit's two; heeded, they put
// 2-6 % of its products on one thread for nothing), and next to NumPy one
// that finds a CPU free for a moment put a fit back on the pool, where it
// waited up to 12 ms for its preempted worker. A reading that finds as many
// other threads as CPUs is heeded at once: waiting for two more readings
// put the first products of a fit started beside NumPy's products (its
// thread and OpenBLAS's worker) on the pool, where at 784-512-512-10
// float64 the first such fit after a pause waited 5-13 ms for its worker;
// on an idle machine, a reading of two threads too many is rarer still.
// The count is of the whole system (or of the host, in a container that
// does not virtualise it), so it is only used when this process may run on
// every online CPU; otherwise it says nothing about this process's CPUs,
// and the pool's own give-up (kGiveUpRatio) is the only remedy.
constexpr std::chrono::microseconds kCrowdCheck{1000};
constexpr int kReadingsToChange = 3;
std::atomic<Clock::rep> g_crowd_checked{0};  // when last read (Clock's count)
std::atomic<bool> g_crowded{false};
std::atomic<int> g_disagreeing{0};  // readings in a row that disagree with g_crowded

#if defined(__linux__)
// Threads running or waiting to run, system-wide, or -1 if unknown.
int runnable_threads() {
    static const int fd = [] {
        // Only where the count is about this process's CPUs (see above).
        const long online = sysconf(_SC_NPROCESSORS_ONLN);
        return online > 0 && online == cpus_available() ? open("/proc/loadavg", O_RDONLY | O_CLOEXEC)
                                                        : -1;
    }();
    if (fd < 0) return -1;
    char buf[128];
    const ssize_t got = pread(fd, buf, sizeof buf - 1, 0);
    if (got <= 0) return -1;
    buf[got] = '\0';
    // "0.20 0.18 0.12 3/250 11206": the number before the slash.
    const char* p = buf;
    for (int field = 0; field < 3; field++) {
        while (*p != '\0' && *p != ' ') p++;
        while (*p == ' ') p++;
    }
    char* end = nullptr;
    const long n = std::strtol(p, &end, 10);
    return end != p && *end == '/' && n >= 0 ? int(n) : -1;
}
#endif

bool crowded(const Pool* pool, int workers) {
#if defined(__linux__)
    const Clock::rep now = Clock::now().time_since_epoch().count();
    Clock::rep last = g_crowd_checked.load(std::memory_order_relaxed);
    if (now - last < std::chrono::duration_cast<Clock::duration>(kCrowdCheck).count() ||
        !g_crowd_checked.compare_exchange_strong(last, now, std::memory_order_relaxed))
        return g_crowded.load(std::memory_order_relaxed);  // as last read
    const int runnable = runnable_threads();
    // The caller itself is running; awake workers spin or work.
    const int others = runnable - 1 - pool->awake(workers);
    // Free CPUs besides the caller's, against the workers that fit on them
    // (set_num_threads may ask for more threads than there are CPUs).
    static const int cpus = cpus_available();
    const bool full = runnable >= 0 && cpus - 1 - others < std::min(workers, cpus - 1);
    // As many other threads as CPUs: taken at once (see kReadingsToChange).
    const bool overfull = runnable >= 0 && others >= cpus;
    // Only the caller that won the compare-and-swap above gets here.
    const bool was = g_crowded.load(std::memory_order_relaxed);
    const int disagreeing = full == was ? 0 : g_disagreeing.load(std::memory_order_relaxed) + 1;
    const bool answer = disagreeing >= kReadingsToChange || overfull ? full : was;
    g_disagreeing.store(answer == was ? disagreeing : 0, std::memory_order_relaxed);
    g_crowded.store(answer, std::memory_order_relaxed);
    return answer;
#else
    (void)pool;
    (void)workers;
    return false;
#endif
}

}  // namespace

Serial::Serial() { t_serial++; }
Serial::~Serial() { t_serial--; }

Stats stats() {
    return {g_pooled.load(std::memory_order_relaxed), g_alone.load(std::memory_order_relaxed),
            g_gave_up.load(std::memory_order_relaxed), g_waited_ns.load(std::memory_order_relaxed) / 1000};
}

int count() { return g_count.load(std::memory_order_relaxed); }

void set_count(int n) { g_count.store(n < 1 ? 1 : n, std::memory_order_relaxed); }

int available() {
    const int n = count();
    if (n <= 1 || t_serial > 0) return 1;
    Pool* pool = g_pool.load(std::memory_order_acquire);
    if (!usable(pool, n - 1)) return n;  // parallel_for makes the pool
    if (!pool->given_up() && !crowded(pool, n - 1)) return n;
    g_alone.fetch_add(1, std::memory_order_relaxed);
    return 1;
}

void parallel_for(int n, void (*fn)(void*, int), void* ctx) {
    int workers = t_serial > 0 ? 0 : std::min(count(), n) - 1;
    if (workers >= 1) {
        Pool* pool = pool_for(workers);
        if (pool->given_up() || crowded(pool, workers)) {
            g_alone.fetch_add(1, std::memory_order_relaxed);
        } else {
            std::unique_lock<std::mutex> busy(pool->busy(), std::try_to_lock);
            if (busy.owns_lock()) {
                const bool gave_up = pool->run(n, fn, ctx, workers);
                g_pooled.fetch_add(1, std::memory_order_relaxed);
                if (gave_up) g_gave_up.fetch_add(1, std::memory_order_relaxed);
                return;
            }
        }
    }
    for (int i = 0; i < n; i++) fn(ctx, i);
}

}  // namespace threads
}  // namespace plainnet
