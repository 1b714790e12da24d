// A small pool of worker threads, created once and reused, for the products
// of big layers. Tiny networks never touch it: for them a thread hand-off
// costs more than the work.
#pragma once

namespace plainnet {
namespace threads {

// Threads a product may use (the caller's included). Starts at the number of
// CPUs this process may run on, or PLAINNET_NUM_THREADS if that is set.
int count();
// Sets it; n >= 1. Takes effect at the next product.
void set_count(int n);
// The threads a product should be split for now, asked just before it would
// be split: count(), or 1 where parallel_for would run everything in its
// caller anyway (inside a Serial, while the pool has given up on a starved
// worker, while the CPUs are all taken; see threads.cpp). A product split
// for one thread does less work than one split for more and run by one.
// The last two count as run alone in stats().
int available();

// Runs fn(ctx, i) for i in [0, n), in parallel on the pool, and returns when
// all are done. Items are claimed one at a time by whichever thread comes
// free, the calling thread included, so a thread that gets less of its core
// takes fewer of them. If another thread is using the pool at that moment,
// or the pool recently gave up on a starved worker (see threads.cpp),
// everything runs in the calling thread: results are the same either way,
// because the items never share outputs.
void parallel_for(int n, void (*fn)(void* ctx, int i), void* ctx);

// What the pool has done since the process started: the parallel_for calls
// run on it, the splits run in the caller alone because the pool had
// recently given up on a starved worker or the CPUs were all taken, how
// often it gave up, and how long callers waited, in all, for workers' last
// items after finishing their own (microseconds).
struct Stats {
    long long pooled, alone, gave_up, waited_us;
};
Stats stats();

// While one is alive, parallel_for called from this thread runs everything
// in it: for work that is already split over the pool at a coarser grain
// (predict's chunks of rows), whose products must not split again.
class Serial {
  public:
    Serial();
    ~Serial();
    Serial(const Serial&) = delete;
    Serial& operator=(const Serial&) = delete;
};

}  // namespace threads
}  // namespace plainnet
