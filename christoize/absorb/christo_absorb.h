/* christoize/absorb/christo_absorb.h — what an absorbed-function implementation declares
 * (docs/christoize.md, "Absorbing leaf functions"). An implementation F.c in this directory says
 *
 *     CHRISTO_ABSORB(F, "slow-path exits", "kernel data it reads");
 *     <F's return type> christo_absorbed_F(<F's parameters>) { ... }
 *
 * The macro declares christo_absorbed_F with F's own prototype from the kernel headers (so a
 * mismatch does not compile) and leaves a record in a .discard section (never loaded) that
 * christoize reads from the compiled object: the function, the kernel functions the implementation
 * may call (each stays behind its exit wrapper; space-separated) and the kernel data it may read.
 * christoize checks the object against it and rejects anything else (christoize/absorb.h). */
#ifndef CHRISTO_ABSORB_H
#define CHRISTO_ABSORB_H

#define CHRISTO_ABSORB(fn, exits, reads)                                                              \
    __typeof__(fn) christo_absorbed_##fn;                                                             \
    static const char christo_absorb_record_##fn[]                                                    \
        __attribute__((used, section(".discard.christo_absorb"), aligned(1))) = #fn "\0" exits "\0" reads

#endif
