/*
 * LD_PRELOAD shim for the MKL that libtorch's CPU build links in (DJL's libtorch 2.7.1): MKL picks its GEMM kernels
 * by asking mkl_serv_intel_cpu_true() whether the CPU is Intel's, and on any other CPU takes its AVX2 kernels even
 * where the CPU has AVX-512 (measured on an AMD EPYC with AVX-512: sgemm in mkl_blas_avx2_* kernels, 1.2-1.5x the time
 * of Debian's OpenBLAS on the UNets' shapes). libtorch_cpu.so calls the function through its PLT, so this definition,
 * preloaded, makes MKL dispatch on the CPU's instruction sets alone. tools/lcm builds it and keeps it only when its
 * GEMM probe (io.lcmlora.bench.KernelProbe gemm) measures it faster; LCM_MKL_SHIM=0 turns that off.
 */
int mkl_serv_intel_cpu_true(void) { return 1; }
