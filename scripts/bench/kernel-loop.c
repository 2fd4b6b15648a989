/*
 * The worker step of Algorithm 1 as a plain C loop: the lower bound bench-overhead.js compares
 * LocalStep.step with (built with g++ -O3 when g++ is present). Same data (shard 0, CSC), same w,
 * same mask sampler (xoshiro128** + geometric skips), same arithmetic; no loss/f_i.
 *   kernel-loop FILE P REPS  ->  prints CPU microseconds per step
 * FILE: u32 n, m, s; u32 ptr[n+1]; u32 ind[nnz]; f64 val[nnz]; f64 y[m]; u32 widx[s]; f64 wval[s]; f64 lambda2, gamma
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static uint32_t A, B, C, D;
static inline uint32_t rotl(uint32_t x, int k) { return (x << k) | (x >> (32 - k)); }
static inline uint32_t next_u32(void) {
  uint32_t r = rotl(B * 5u, 7) * 9u, t = B << 9;
  C ^= A; D ^= B; B ^= C; A ^= D; C ^= t; D = rotl(D, 11);
  return r;
}
static inline uint32_t geo(double logq) {
  double u = ((double)next_u32() + 1.0) / 4294967296.0;
  double k = floor(log(u) / logq);
  return k < 2147483647.0 ? (uint32_t)k : 2147483647u;
}
static void *rd(FILE *f, size_t bytes) {
  void *p = malloc(bytes ? bytes : 1);
  if (fread(p, 1, bytes, f) != bytes) { fprintf(stderr, "short read\n"); exit(1); }
  return p;
}

int main(int argc, char **argv) {
  FILE *f = fopen(argv[1], "rb");
  double p = atof(argv[2]);
  int reps = atoi(argv[3]);
  uint32_t hdr[3];
  if (fread(hdr, 4, 3, f) != 3) return 1;
  uint32_t n = hdr[0], m = hdr[1], s = hdr[2];
  uint32_t *ptr = (uint32_t *)rd(f, 4 * (size_t)(n + 1));
  uint32_t nnz = ptr[n];
  uint32_t *ind = (uint32_t *)rd(f, 4 * (size_t)nnz);
  double *val = (double *)rd(f, 8 * (size_t)nnz), *y = (double *)rd(f, 8 * (size_t)m);
  uint32_t *widx = (uint32_t *)rd(f, 4 * (size_t)s);
  double *wval = (double *)rd(f, 8 * (size_t)s), *par = (double *)rd(f, 16);
  double lambda2 = par[0], gamma = par[1];
  double *z = (double *)calloc(m, 8), *r = (double *)calloc(m, 8), *wi = (double *)calloc(n, 8), *dval = (double *)malloc(8 * (size_t)n);
  uint32_t *mask = (uint32_t *)malloc(4 * (size_t)n), *didx = (uint32_t *)malloc(4 * (size_t)n);
  A = 1; B = 2; C = 3; D = 4;
  double logq = log1p(-p);
  volatile uint32_t sink = 0;
  struct timespec t0, t1;
  for (int rep = -1; rep < reps; rep++) {
    if (rep == 0) clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t0);
    memset(z, 0, 8 * (size_t)m);
    for (uint32_t t = 0; t < s; t++) {
      uint32_t j = widx[t]; double wj = wval[t];
      for (uint32_t k = ptr[j]; k < ptr[j + 1]; k++) z[ind[k]] += val[k] * wj;
    }
    for (uint32_t i = 0; i < m; i++) {
      double yz = y[i] * z[i], e = exp(-fabs(yz));
      r[i] = yz > 0 ? (-y[i] * (e / (1 + e))) / m : -y[i] / (1 + e) / m;
    }
    uint32_t cnt = 0;
    if (p >= 1) { for (uint32_t j = 0; j < n; j++) mask[cnt++] = j; }
    else {
      uint32_t sp = 0, next = geo(logq);
      while (next < n || sp < s) {
        uint32_t j = sp < s ? widx[sp] : n;
        if (next < j) { mask[cnt++] = next; next += 1 + geo(logq); }
        else { mask[cnt++] = j; sp++; if (next == j) next += 1 + geo(logq); }
        if (next > n) next = n;
      }
    }
    uint32_t sw = 0, count = 0;
    for (uint32_t t = 0; t < cnt; t++) {
      uint32_t j = mask[t]; double wj = 0;
      if (sw < s && widx[sw] == j) wj = wval[sw++];
      double g = lambda2 * wj;
      for (uint32_t k = ptr[j]; k < ptr[j + 1]; k++) g += val[k] * r[ind[k]];
      double nx = wj - gamma * g, d = nx - wi[j];
      wi[j] = nx;
      if (d != 0) { didx[count] = j; dval[count++] = d; }
    }
    sink += count;
  }
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t1);
  double us = ((t1.tv_sec - t0.tv_sec) * 1e9 + (t1.tv_nsec - t0.tv_nsec)) / 1e3 / reps;
  printf("%.3f\n", us);
  return 0;
}
