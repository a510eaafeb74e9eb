// SPDX-License-Identifier: GPL-2.0
/* __skb_pad absorbed (net/core/skbuff.c): the case the kernel's function handles first — an skb
 * that is not cloned and has the tailroom (a nonlinear skb has none): zero the pad bytes after the
 * data and return 0. The e1000 pads every frame shorter than ETH_ZLEN it sends (eth_skb_pad in
 * e1000_xmit_frame), i.e. the ACKs of a download. A cloned skb or one without the room (the
 * kernel expands or linearizes it, and may free it) goes to the kernel's __skb_pad through its
 * exit wrapper. The zeroing is one `rep stosb` (a memset call would be an exit). */
#include <linux/skbuff.h>

#include "christo_absorb.h"

CHRISTO_ABSORB(__skb_pad, "__skb_pad", "");

int christo_absorbed___skb_pad(struct sk_buff *skb, int pad, bool free_on_error)
{
	void *dst;
	unsigned long n;

	if (unlikely(pad < 0 || skb_cloned(skb) || skb_tailroom(skb) < pad))
		return __skb_pad(skb, pad, free_on_error);
	dst = skb->data + skb->len;
	n = (unsigned long)pad;
	asm volatile("rep stosb" : "+D"(dst), "+c"(n) : "a"(0) : "memory");
	return 0;
}
