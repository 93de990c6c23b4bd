/* SPDX-License-Identifier: MIT */
/* Growable arrays: the one place the analyzer grows a buffer. */
#ifndef CS_VEC_H
#define CS_VEC_H

#include <stddef.h>

/*
 * Make room for `more` elements of `elem` bytes after the first `len` in
 * *arr, whose capacity is *cap elements; grows geometrically with realloc.
 * Returns 0, or -ENOMEM (also on size overflow) leaving *arr untouched.
 */
int cs_vec_reserve(void **arr, size_t *cap, size_t len, size_t more, size_t elem);

/* Room for one more element in the array `arr` of `len` used and `cap` allocated. */
#define CS_VEC_GROW(arr, len, cap) cs_vec_reserve((void **)&(arr), &(cap), (len), 1, sizeof(*(arr)))

#endif
