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

// How long an idle worker spins before it sleeps.
constexpr std::chrono::microseconds kSpin{200};

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

    // Caller holds busy(). Runs items [0, n) on the workers and the caller.
    void run(int n, void (*fn)(void*, int), void* ctx) {
        fn_ = fn;
        ctx_ = ctx;
        pending_.store(n, std::memory_order_relaxed);
        uint32_t gen = ++generation_;
        state_.store((uint64_t(gen) << 32) | (uint64_t(n) << 16), std::memory_order_release);
        { std::lock_guard<std::mutex> lock(mu_); }  // a worker about to sleep sees the new state
        wake_.notify_all();
        work(gen);
        while (pending_.load(std::memory_order_acquire) != 0) std::this_thread::yield();
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

}  // namespace

Serial::Serial() { t_serial++; }
Serial::~Serial() { t_serial--; }

int count() { return g_count.load(std::memory_order_relaxed); }

void set_count(int n) { g_count.store(n < 1 ? 1 : n, std::memory_order_relaxed); }

void parallel_for(int n, void (*fn)(void*, int), void* ctx) {
    int workers = t_serial > 0 ? 0 : std::min(count(), n) - 1;
    if (workers >= 1) {
        Pool* pool = pool_for(workers);
        std::unique_lock<std::mutex> busy(pool->busy(), std::try_to_lock);
        if (busy.owns_lock()) {
            pool->run(n, fn, ctx);
            return;
        }
    }
    for (int i = 0; i < n; i++) fn(ctx, i);
}

}  // namespace threads
}  // namespace plainnet
