#include "threads.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdlib>
#include <mutex>
#include <thread>
#include <vector>

#if defined(__linux__)
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

// How long an idle worker spins before it sleeps.
constexpr std::chrono::microseconds kSpin{200};

// A caller that waits for the workers' last items longer than this, and
// longer than kGiveUpShare of the time it spent on its own items, is working
// beside a starved worker: its core is being taken by something else (NumPy's
// BLAS threads still spinning after a product, another process). Waiting
// for it would make two threads slower than one, so that caller's next
// products run on its own thread alone for a while (kFirstBackoff, doubled
// at each give-up in a row up to kLastBackoff), after which it tries the
// pool again. Shorter waits are the ordinary wake-up of a sleeping worker.
constexpr std::chrono::microseconds kNoticedWait{20};
constexpr double kGiveUpShare = 0.25;
constexpr std::chrono::milliseconds kFirstBackoff{10};
constexpr std::chrono::milliseconds kLastBackoff{640};

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
class Pool {
  public:
    explicit Pool(int workers) {
        for (int i = 0; i < workers; i++) threads_.emplace_back([this] { loop(); });
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

    // Caller holds busy(). Runs items [0, n) on the workers and the caller,
    // and returns how long the caller then waited for the workers' last
    // items, as a share of the time it spent on its own.
    double run(int n, void (*fn)(void*, int), void* ctx) {
        fn_ = fn;
        ctx_ = ctx;
        pending_.store(n, std::memory_order_relaxed);
        uint32_t gen = ++generation_;
        const auto start = Clock::now();
        state_.store((uint64_t(gen) << 32) | (uint64_t(n) << 16), std::memory_order_release);
        { std::lock_guard<std::mutex> lock(mu_); }  // a worker about to sleep sees the new state
        wake_.notify_all();
        work(gen);
        if (pending_.load(std::memory_order_acquire) == 0) return 0.0;
        const auto own = Clock::now();
        while (pending_.load(std::memory_order_acquire) != 0) std::this_thread::yield();
        const auto waited = Clock::now() - own;
        if (waited < kNoticedWait) return 0.0;
        return std::chrono::duration<double>(waited).count() /
               std::max(1e-9, std::chrono::duration<double>(own - start).count());
    }

  private:
    static uint32_t gen_of(uint64_t s) { return uint32_t(s >> 32); }

    void work(uint32_t gen) {
        uint64_t s = state_.load(std::memory_order_acquire);
        for (;;) {
            int n = int((s >> 16) & 0xFFFF), i = int(s & 0xFFFF);
            if (gen_of(s) != gen || i >= n) return;
            if (state_.compare_exchange_weak(s, s + 1, std::memory_order_acq_rel,
                                             std::memory_order_acquire)) {
                fn_(ctx_, i);
                pending_.fetch_sub(1, std::memory_order_release);
                s = state_.load(std::memory_order_acquire);
            }
        }
    }

    void loop() {
        uint32_t seen = 0;
        for (;;) {
            bool got = false;
            const auto until = std::chrono::steady_clock::now() + kSpin;
            while (!got) {
                got = gen_of(state_.load(std::memory_order_acquire)) != seen;
                if (got || std::chrono::steady_clock::now() > until) break;
                std::this_thread::yield();
            }
            if (!got) {
                std::unique_lock<std::mutex> lock(mu_);
                wake_.wait(lock, [&] { return gen_of(state_.load()) != seen; });
            }
            seen = gen_of(state_.load(std::memory_order_acquire));
            work(seen);
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
    uint32_t generation_ = 0;  // only touched by the thread holding busy_
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

// This thread's standing with the pool: run alone until `alone_until`
// after giving up on a starved worker (see kGiveUpShare).
struct Standing {
    Clock::time_point alone_until{};
    Clock::duration backoff{kFirstBackoff};
};
thread_local Standing t_standing;

std::atomic<long long> g_pooled{0}, g_alone{0}, g_gave_up{0};

}  // namespace

Serial::Serial() { t_serial++; }
Serial::~Serial() { t_serial--; }

Stats stats() {
    return {g_pooled.load(std::memory_order_relaxed), g_alone.load(std::memory_order_relaxed),
            g_gave_up.load(std::memory_order_relaxed)};
}

int count() { return g_count.load(std::memory_order_relaxed); }

void set_count(int n) { g_count.store(n < 1 ? 1 : n, std::memory_order_relaxed); }

void parallel_for(int n, void (*fn)(void*, int), void* ctx) {
    int workers = t_serial > 0 ? 0 : std::min(count(), n) - 1;
    Standing& me = t_standing;
    if (workers >= 1 && Clock::now() < me.alone_until) {
        g_alone.fetch_add(1, std::memory_order_relaxed);
    } else if (workers >= 1) {
        Pool* pool = pool_for(workers);
        std::unique_lock<std::mutex> busy(pool->busy(), std::try_to_lock);
        if (busy.owns_lock()) {
            const double waited = pool->run(n, fn, ctx);
            busy.unlock();
            g_pooled.fetch_add(1, std::memory_order_relaxed);
            if (waited > kGiveUpShare) {
                g_gave_up.fetch_add(1, std::memory_order_relaxed);
                me.alone_until = Clock::now() + me.backoff;
                me.backoff = std::min<Clock::duration>(2 * me.backoff, kLastBackoff);
            } else if (waited == 0.0) {
                me.backoff = kFirstBackoff;
            }
            return;
        }
    }
    for (int i = 0; i < n; i++) fn(ctx, i);
}

}  // namespace threads
}  // namespace plainnet
