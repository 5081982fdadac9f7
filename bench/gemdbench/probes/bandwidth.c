/* Memory read bandwidth: each of T threads (argv[1], default 1) sums its own 256 MiB buffer,
   4 independent accumulators per thread; the best of 7 passes is printed in GB/s, followed by
   the sum so the compiler cannot drop the reads. Compiled at run time by bandwidth.py with
   -O3 -march=native -pthread. */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#define N (256u << 20) /* bytes per thread */
typedef struct { uint64_t *p; size_t n; uint64_t s; } job;
static void *rd(void *a) {
  job *j = a; uint64_t s0 = 0, s1 = 0, s2 = 0, s3 = 0;
  for (size_t i = 0; i < j->n; i += 4) {
    s0 += j->p[i]; s1 += j->p[i+1]; s2 += j->p[i+2]; s3 += j->p[i+3];
  }
  j->s = s0 + s1 + s2 + s3; return 0;
}
int main(int argc, char **argv) {
  int t = argc > 1 ? atoi(argv[1]) : 1; job j[64]; pthread_t th[64]; double best = 0;
  for (int k = 0; k < t; k++) {
    j[k].n = N / 8; j[k].p = aligned_alloc(64, N); memset(j[k].p, k + 1, N);
  }
  for (int rep = 0; rep < 7; rep++) {
    struct timespec a, b; clock_gettime(CLOCK_MONOTONIC, &a);
    for (int k = 0; k < t; k++) pthread_create(&th[k], 0, rd, &j[k]);
    for (int k = 0; k < t; k++) pthread_join(th[k], 0);
    clock_gettime(CLOCK_MONOTONIC, &b);
    double s = (b.tv_sec - a.tv_sec) + (b.tv_nsec - a.tv_nsec) / 1e9, gbs = (double)N * t / s / 1e9;
    if (gbs > best) best = gbs;
  }
  uint64_t x = 0; for (int k = 0; k < t; k++) x += j[k].s;
  printf("%.2f %llu\n", best, (unsigned long long)x);
  return 0;
}
