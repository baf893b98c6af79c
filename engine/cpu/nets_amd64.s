#include "textflag.h"

// AVX2 loops for the memory-bound ops of small networks: ReLU with its mask,
// masked select, 2×2 max-pooling rows and the batch-norm row passes.

// maskBytes[m] holds 8 bytes, byte i = bit i of m (Go bools).
DATA maskBytes<>+0(SB)/8, $0x0
DATA maskBytes<>+8(SB)/8, $0x1
DATA maskBytes<>+16(SB)/8, $0x100
DATA maskBytes<>+24(SB)/8, $0x101
DATA maskBytes<>+32(SB)/8, $0x10000
DATA maskBytes<>+40(SB)/8, $0x10001
DATA maskBytes<>+48(SB)/8, $0x10100
DATA maskBytes<>+56(SB)/8, $0x10101
DATA maskBytes<>+64(SB)/8, $0x1000000
DATA maskBytes<>+72(SB)/8, $0x1000001
DATA maskBytes<>+80(SB)/8, $0x1000100
DATA maskBytes<>+88(SB)/8, $0x1000101
DATA maskBytes<>+96(SB)/8, $0x1010000
DATA maskBytes<>+104(SB)/8, $0x1010001
DATA maskBytes<>+112(SB)/8, $0x1010100
DATA maskBytes<>+120(SB)/8, $0x1010101
DATA maskBytes<>+128(SB)/8, $0x100000000
DATA maskBytes<>+136(SB)/8, $0x100000001
DATA maskBytes<>+144(SB)/8, $0x100000100
DATA maskBytes<>+152(SB)/8, $0x100000101
DATA maskBytes<>+160(SB)/8, $0x100010000
DATA maskBytes<>+168(SB)/8, $0x100010001
DATA maskBytes<>+176(SB)/8, $0x100010100
DATA maskBytes<>+184(SB)/8, $0x100010101
DATA maskBytes<>+192(SB)/8, $0x101000000
DATA maskBytes<>+200(SB)/8, $0x101000001
DATA maskBytes<>+208(SB)/8, $0x101000100
DATA maskBytes<>+216(SB)/8, $0x101000101
DATA maskBytes<>+224(SB)/8, $0x101010000
DATA maskBytes<>+232(SB)/8, $0x101010001
DATA maskBytes<>+240(SB)/8, $0x101010100
DATA maskBytes<>+248(SB)/8, $0x101010101
DATA maskBytes<>+256(SB)/8, $0x10000000000
DATA maskBytes<>+264(SB)/8, $0x10000000001
DATA maskBytes<>+272(SB)/8, $0x10000000100
DATA maskBytes<>+280(SB)/8, $0x10000000101
DATA maskBytes<>+288(SB)/8, $0x10000010000
DATA maskBytes<>+296(SB)/8, $0x10000010001
DATA maskBytes<>+304(SB)/8, $0x10000010100
DATA maskBytes<>+312(SB)/8, $0x10000010101
DATA maskBytes<>+320(SB)/8, $0x10001000000
DATA maskBytes<>+328(SB)/8, $0x10001000001
DATA maskBytes<>+336(SB)/8, $0x10001000100
DATA maskBytes<>+344(SB)/8, $0x10001000101
DATA maskBytes<>+352(SB)/8, $0x10001010000
DATA maskBytes<>+360(SB)/8, $0x10001010001
DATA maskBytes<>+368(SB)/8, $0x10001010100
DATA maskBytes<>+376(SB)/8, $0x10001010101
DATA maskBytes<>+384(SB)/8, $0x10100000000
DATA maskBytes<>+392(SB)/8, $0x10100000001
DATA maskBytes<>+400(SB)/8, $0x10100000100
DATA maskBytes<>+408(SB)/8, $0x10100000101
DATA maskBytes<>+416(SB)/8, $0x10100010000
DATA maskBytes<>+424(SB)/8, $0x10100010001
DATA maskBytes<>+432(SB)/8, $0x10100010100
DATA maskBytes<>+440(SB)/8, $0x10100010101
DATA maskBytes<>+448(SB)/8, $0x10101000000
DATA maskBytes<>+456(SB)/8, $0x10101000001
DATA maskBytes<>+464(SB)/8, $0x10101000100
DATA maskBytes<>+472(SB)/8, $0x10101000101
DATA maskBytes<>+480(SB)/8, $0x10101010000
DATA maskBytes<>+488(SB)/8, $0x10101010001
DATA maskBytes<>+496(SB)/8, $0x10101010100
DATA maskBytes<>+504(SB)/8, $0x10101010101
DATA maskBytes<>+512(SB)/8, $0x1000000000000
DATA maskBytes<>+520(SB)/8, $0x1000000000001
DATA maskBytes<>+528(SB)/8, $0x1000000000100
DATA maskBytes<>+536(SB)/8, $0x1000000000101
DATA maskBytes<>+544(SB)/8, $0x1000000010000
DATA maskBytes<>+552(SB)/8, $0x1000000010001
DATA maskBytes<>+560(SB)/8, $0x1000000010100
DATA maskBytes<>+568(SB)/8, $0x1000000010101
DATA maskBytes<>+576(SB)/8, $0x1000001000000
DATA maskBytes<>+584(SB)/8, $0x1000001000001
DATA maskBytes<>+592(SB)/8, $0x1000001000100
DATA maskBytes<>+600(SB)/8, $0x1000001000101
DATA maskBytes<>+608(SB)/8, $0x1000001010000
DATA maskBytes<>+616(SB)/8, $0x1000001010001
DATA maskBytes<>+624(SB)/8, $0x1000001010100
DATA maskBytes<>+632(SB)/8, $0x1000001010101
DATA maskBytes<>+640(SB)/8, $0x1000100000000
DATA maskBytes<>+648(SB)/8, $0x1000100000001
DATA maskBytes<>+656(SB)/8, $0x1000100000100
DATA maskBytes<>+664(SB)/8, $0x1000100000101
DATA maskBytes<>+672(SB)/8, $0x1000100010000
DATA maskBytes<>+680(SB)/8, $0x1000100010001
DATA maskBytes<>+688(SB)/8, $0x1000100010100
DATA maskBytes<>+696(SB)/8, $0x1000100010101
DATA maskBytes<>+704(SB)/8, $0x1000101000000
DATA maskBytes<>+712(SB)/8, $0x1000101000001
DATA maskBytes<>+720(SB)/8, $0x1000101000100
DATA maskBytes<>+728(SB)/8, $0x1000101000101
DATA maskBytes<>+736(SB)/8, $0x1000101010000
DATA maskBytes<>+744(SB)/8, $0x1000101010001
DATA maskBytes<>+752(SB)/8, $0x1000101010100
DATA maskBytes<>+760(SB)/8, $0x1000101010101
DATA maskBytes<>+768(SB)/8, $0x1010000000000
DATA maskBytes<>+776(SB)/8, $0x1010000000001
DATA maskBytes<>+784(SB)/8, $0x1010000000100
DATA maskBytes<>+792(SB)/8, $0x1010000000101
DATA maskBytes<>+800(SB)/8, $0x1010000010000
DATA maskBytes<>+808(SB)/8, $0x1010000010001
DATA maskBytes<>+816(SB)/8, $0x1010000010100
DATA maskBytes<>+824(SB)/8, $0x1010000010101
DATA maskBytes<>+832(SB)/8, $0x1010001000000
DATA maskBytes<>+840(SB)/8, $0x1010001000001
DATA maskBytes<>+848(SB)/8, $0x1010001000100
DATA maskBytes<>+856(SB)/8, $0x1010001000101
DATA maskBytes<>+864(SB)/8, $0x1010001010000
DATA maskBytes<>+872(SB)/8, $0x1010001010001
DATA maskBytes<>+880(SB)/8, $0x1010001010100
DATA maskBytes<>+888(SB)/8, $0x1010001010101
DATA maskBytes<>+896(SB)/8, $0x1010100000000
DATA maskBytes<>+904(SB)/8, $0x1010100000001
DATA maskBytes<>+912(SB)/8, $0x1010100000100
DATA maskBytes<>+920(SB)/8, $0x1010100000101
DATA maskBytes<>+928(SB)/8, $0x1010100010000
DATA maskBytes<>+936(SB)/8, $0x1010100010001
DATA maskBytes<>+944(SB)/8, $0x1010100010100
DATA maskBytes<>+952(SB)/8, $0x1010100010101
DATA maskBytes<>+960(SB)/8, $0x1010101000000
DATA maskBytes<>+968(SB)/8, $0x1010101000001
DATA maskBytes<>+976(SB)/8, $0x1010101000100
DATA maskBytes<>+984(SB)/8, $0x1010101000101
DATA maskBytes<>+992(SB)/8, $0x1010101010000
DATA maskBytes<>+1000(SB)/8, $0x1010101010001
DATA maskBytes<>+1008(SB)/8, $0x1010101010100
DATA maskBytes<>+1016(SB)/8, $0x1010101010101
DATA maskBytes<>+1024(SB)/8, $0x100000000000000
DATA maskBytes<>+1032(SB)/8, $0x100000000000001
DATA maskBytes<>+1040(SB)/8, $0x100000000000100
DATA maskBytes<>+1048(SB)/8, $0x100000000000101
DATA maskBytes<>+1056(SB)/8, $0x100000000010000
DATA maskBytes<>+1064(SB)/8, $0x100000000010001
DATA maskBytes<>+1072(SB)/8, $0x100000000010100
DATA maskBytes<>+1080(SB)/8, $0x100000000010101
DATA maskBytes<>+1088(SB)/8, $0x100000001000000
DATA maskBytes<>+1096(SB)/8, $0x100000001000001
DATA maskBytes<>+1104(SB)/8, $0x100000001000100
DATA maskBytes<>+1112(SB)/8, $0x100000001000101
DATA maskBytes<>+1120(SB)/8, $0x100000001010000
DATA maskBytes<>+1128(SB)/8, $0x100000001010001
DATA maskBytes<>+1136(SB)/8, $0x100000001010100
DATA maskBytes<>+1144(SB)/8, $0x100000001010101
DATA maskBytes<>+1152(SB)/8, $0x100000100000000
DATA maskBytes<>+1160(SB)/8, $0x100000100000001
DATA maskBytes<>+1168(SB)/8, $0x100000100000100
DATA maskBytes<>+1176(SB)/8, $0x100000100000101
DATA maskBytes<>+1184(SB)/8, $0x100000100010000
DATA maskBytes<>+1192(SB)/8, $0x100000100010001
DATA maskBytes<>+1200(SB)/8, $0x100000100010100
DATA maskBytes<>+1208(SB)/8, $0x100000100010101
DATA maskBytes<>+1216(SB)/8, $0x100000101000000
DATA maskBytes<>+1224(SB)/8, $0x100000101000001
DATA maskBytes<>+1232(SB)/8, $0x100000101000100
DATA maskBytes<>+1240(SB)/8, $0x100000101000101
DATA maskBytes<>+1248(SB)/8, $0x100000101010000
DATA maskBytes<>+1256(SB)/8, $0x100000101010001
DATA maskBytes<>+1264(SB)/8, $0x100000101010100
DATA maskBytes<>+1272(SB)/8, $0x100000101010101
DATA maskBytes<>+1280(SB)/8, $0x100010000000000
DATA maskBytes<>+1288(SB)/8, $0x100010000000001
DATA maskBytes<>+1296(SB)/8, $0x100010000000100
DATA maskBytes<>+1304(SB)/8, $0x100010000000101
DATA maskBytes<>+1312(SB)/8, $0x100010000010000
DATA maskBytes<>+1320(SB)/8, $0x100010000010001
DATA maskBytes<>+1328(SB)/8, $0x100010000010100
DATA maskBytes<>+1336(SB)/8, $0x100010000010101
DATA maskBytes<>+1344(SB)/8, $0x100010001000000
DATA maskBytes<>+1352(SB)/8, $0x100010001000001
DATA maskBytes<>+1360(SB)/8, $0x100010001000100
DATA maskBytes<>+1368(SB)/8, $0x100010001000101
DATA maskBytes<>+1376(SB)/8, $0x100010001010000
DATA maskBytes<>+1384(SB)/8, $0x100010001010001
DATA maskBytes<>+1392(SB)/8, $0x100010001010100
DATA maskBytes<>+1400(SB)/8, $0x100010001010101
DATA maskBytes<>+1408(SB)/8, $0x100010100000000
DATA maskBytes<>+1416(SB)/8, $0x100010100000001
DATA maskBytes<>+1424(SB)/8, $0x100010100000100
DATA maskBytes<>+1432(SB)/8, $0x100010100000101
DATA maskBytes<>+1440(SB)/8, $0x100010100010000
DATA maskBytes<>+1448(SB)/8, $0x100010100010001
DATA maskBytes<>+1456(SB)/8, $0x100010100010100
DATA maskBytes<>+1464(SB)/8, $0x100010100010101
DATA maskBytes<>+1472(SB)/8, $0x100010101000000
DATA maskBytes<>+1480(SB)/8, $0x100010101000001
DATA maskBytes<>+1488(SB)/8, $0x100010101000100
DATA maskBytes<>+1496(SB)/8, $0x100010101000101
DATA maskBytes<>+1504(SB)/8, $0x100010101010000
DATA maskBytes<>+1512(SB)/8, $0x100010101010001
DATA maskBytes<>+1520(SB)/8, $0x100010101010100
DATA maskBytes<>+1528(SB)/8, $0x100010101010101
DATA maskBytes<>+1536(SB)/8, $0x101000000000000
DATA maskBytes<>+1544(SB)/8, $0x101000000000001
DATA maskBytes<>+1552(SB)/8, $0x101000000000100
DATA maskBytes<>+1560(SB)/8, $0x101000000000101
DATA maskBytes<>+1568(SB)/8, $0x101000000010000
DATA maskBytes<>+1576(SB)/8, $0x101000000010001
DATA maskBytes<>+1584(SB)/8, $0x101000000010100
DATA maskBytes<>+1592(SB)/8, $0x101000000010101
DATA maskBytes<>+1600(SB)/8, $0x101000001000000
DATA maskBytes<>+1608(SB)/8, $0x101000001000001
DATA maskBytes<>+1616(SB)/8, $0x101000001000100
DATA maskBytes<>+1624(SB)/8, $0x101000001000101
DATA maskBytes<>+1632(SB)/8, $0x101000001010000
DATA maskBytes<>+1640(SB)/8, $0x101000001010001
DATA maskBytes<>+1648(SB)/8, $0x101000001010100
DATA maskBytes<>+1656(SB)/8, $0x101000001010101
DATA maskBytes<>+1664(SB)/8, $0x101000100000000
DATA maskBytes<>+1672(SB)/8, $0x101000100000001
DATA maskBytes<>+1680(SB)/8, $0x101000100000100
DATA maskBytes<>+1688(SB)/8, $0x101000100000101
DATA maskBytes<>+1696(SB)/8, $0x101000100010000
DATA maskBytes<>+1704(SB)/8, $0x101000100010001
DATA maskBytes<>+1712(SB)/8, $0x101000100010100
DATA maskBytes<>+1720(SB)/8, $0x101000100010101
DATA maskBytes<>+1728(SB)/8, $0x101000101000000
DATA maskBytes<>+1736(SB)/8, $0x101000101000001
DATA maskBytes<>+1744(SB)/8, $0x101000101000100
DATA maskBytes<>+1752(SB)/8, $0x101000101000101
DATA maskBytes<>+1760(SB)/8, $0x101000101010000
DATA maskBytes<>+1768(SB)/8, $0x101000101010001
DATA maskBytes<>+1776(SB)/8, $0x101000101010100
DATA maskBytes<>+1784(SB)/8, $0x101000101010101
DATA maskBytes<>+1792(SB)/8, $0x101010000000000
DATA maskBytes<>+1800(SB)/8, $0x101010000000001
DATA maskBytes<>+1808(SB)/8, $0x101010000000100
DATA maskBytes<>+1816(SB)/8, $0x101010000000101
DATA maskBytes<>+1824(SB)/8, $0x101010000010000
DATA maskBytes<>+1832(SB)/8, $0x101010000010001
DATA maskBytes<>+1840(SB)/8, $0x101010000010100
DATA maskBytes<>+1848(SB)/8, $0x101010000010101
DATA maskBytes<>+1856(SB)/8, $0x101010001000000
DATA maskBytes<>+1864(SB)/8, $0x101010001000001
DATA maskBytes<>+1872(SB)/8, $0x101010001000100
DATA maskBytes<>+1880(SB)/8, $0x101010001000101
DATA maskBytes<>+1888(SB)/8, $0x101010001010000
DATA maskBytes<>+1896(SB)/8, $0x101010001010001
DATA maskBytes<>+1904(SB)/8, $0x101010001010100
DATA maskBytes<>+1912(SB)/8, $0x101010001010101
DATA maskBytes<>+1920(SB)/8, $0x101010100000000
DATA maskBytes<>+1928(SB)/8, $0x101010100000001
DATA maskBytes<>+1936(SB)/8, $0x101010100000100
DATA maskBytes<>+1944(SB)/8, $0x101010100000101
DATA maskBytes<>+1952(SB)/8, $0x101010100010000
DATA maskBytes<>+1960(SB)/8, $0x101010100010001
DATA maskBytes<>+1968(SB)/8, $0x101010100010100
DATA maskBytes<>+1976(SB)/8, $0x101010100010101
DATA maskBytes<>+1984(SB)/8, $0x101010101000000
DATA maskBytes<>+1992(SB)/8, $0x101010101000001
DATA maskBytes<>+2000(SB)/8, $0x101010101000100
DATA maskBytes<>+2008(SB)/8, $0x101010101000101
DATA maskBytes<>+2016(SB)/8, $0x101010101010000
DATA maskBytes<>+2024(SB)/8, $0x101010101010001
DATA maskBytes<>+2032(SB)/8, $0x101010101010100
DATA maskBytes<>+2040(SB)/8, $0x101010101010101
GLOBL maskBytes<>(SB), RODATA, $2048

// func reluMask32(o *float32, m *bool, x *float32, n int)
// o[i] = x[i] if x[i] > 0 else 0; m[i] = x[i] > 0. n is a multiple of 8.
TEXT ·reluMask32(SB), NOSPLIT, $0-32
	MOVQ o+0(FP), DI
	MOVQ m+8(FP), R8
	MOVQ x+16(FP), SI
	MOVQ n+24(FP), CX
	LEAQ maskBytes<>(SB), R9
	VXORPS Y7, Y7, Y7
	XORQ AX, AX
relu8:
	CMPQ AX, CX
	JGE reludone
	VMOVUPS (SI)(AX*4), Y0
	VCMPPS $0x1e, Y7, Y0, Y1
	VANDPS Y1, Y0, Y2
	VMOVUPS Y2, (DI)(AX*4)
	VMOVMSKPS Y1, DX
	MOVQ (R9)(DX*8), DX
	MOVQ DX, (R8)(AX*1)
	ADDQ $8, AX
	JMP relu8
reludone:
	VZEROUPPER
	RET

// func whereZero32(o *float32, m *bool, v *float32, n int)
// o[i] = v[i] if m[i] else 0. n is a multiple of 8.
TEXT ·whereZero32(SB), NOSPLIT, $0-32
	MOVQ o+0(FP), DI
	MOVQ m+8(FP), R8
	MOVQ v+16(FP), SI
	MOVQ n+24(FP), CX
	VPXOR Y7, Y7, Y7
	XORQ AX, AX
wz8:
	CMPQ AX, CX
	JGE wzdone
	VPMOVZXBD (R8)(AX*1), Y1
	VPCMPGTD Y7, Y1, Y1
	VANDPS (SI)(AX*4), Y1, Y2
	VMOVUPS Y2, (DI)(AX*4)
	ADDQ $8, AX
	JMP wz8
wzdone:
	VZEROUPPER
	RET

// func maxPoolRow32(o, a, b *float32, c, ow int)
// One output row of 2×2/2 max-pooling: a and b are input rows 2y and 2y+1
// (pixels of c channels, c a multiple of 8).
TEXT ·maxPoolRow32(SB), NOSPLIT, $0-40
	MOVQ o+0(FP), DI
	MOVQ a+8(FP), SI
	MOVQ b+16(FP), DX
	MOVQ c+24(FP), CX
	MOVQ ow+32(FP), R8
	MOVQ CX, R10
	SHLQ $2, R10
mpx:
	TESTQ R8, R8
	JEQ mpdone
	XORQ AX, AX
mpk:
	CMPQ AX, CX
	JGE mpnext
	VMOVUPS (SI)(AX*4), Y0
	LEAQ (SI)(R10*1), R11
	VMAXPS (R11)(AX*4), Y0, Y0
	VMAXPS (DX)(AX*4), Y0, Y0
	LEAQ (DX)(R10*1), R11
	VMAXPS (R11)(AX*4), Y0, Y0
	VMOVUPS Y0, (DI)(AX*4)
	ADDQ $8, AX
	JMP mpk
mpnext:
	LEAQ (SI)(R10*2), SI
	LEAQ (DX)(R10*2), DX
	ADDQ R10, DI
	DECQ R8
	JMP mpx
mpdone:
	VZEROUPPER
	RET

// func maxPoolGradRow32(da, db, a, b, grad *float32, c, ow int)
// The gradient of one output row of 2×2/2 max-pooling: each of the ow·c
// values of grad goes to the first maximum of its window in the input rows a
// (2y) and b (2y+1), in reading order, and the window's other three
// positions of da and db get 0 (c a multiple of 8).
TEXT ·maxPoolGradRow32(SB), NOSPLIT, $0-56
	MOVQ da+0(FP), DI
	MOVQ db+8(FP), R9
	MOVQ a+16(FP), SI
	MOVQ b+24(FP), DX
	MOVQ grad+32(FP), BX
	MOVQ c+40(FP), CX
	MOVQ ow+48(FP), R8
	SHLQ $2, CX // bytes per pixel
mgx:
	TESTQ R8, R8
	JEQ mgdone
	LEAQ (SI)(CX*1), R11 // the right-hand pixels
	LEAQ (DX)(CX*1), R12
	LEAQ (DI)(CX*1), R13
	LEAQ (R9)(CX*1), R10
	XORQ AX, AX
mgk:
	CMPQ AX, CX
	JGE mgnext
	VMOVUPS (SI)(AX*1), Y0  // v0: top left
	VMOVUPS (R11)(AX*1), Y1 // v1: top right
	VMOVUPS (DX)(AX*1), Y2  // v2: bottom left
	VMOVUPS (R12)(AX*1), Y3 // v3: bottom right
	VMOVUPS (BX)(AX*1), Y4  // the gradient
	VCMPPS $0x1e, Y0, Y1, Y5 // c1 = v1 > v0
	VBLENDVPS Y5, Y1, Y0, Y6 // the maximum so far
	VCMPPS $0x1e, Y6, Y2, Y7 // c2 = v2 > max(v0, v1)
	VBLENDVPS Y7, Y2, Y6, Y6
	VCMPPS $0x1e, Y6, Y3, Y8 // c3 = v3 > max(v0, v1, v2)
	VANDPS Y8, Y4, Y9        // to v3 if c3
	VMOVUPS Y9, (R10)(AX*1)
	VANDNPS Y4, Y8, Y4       // what is left for v0, v1, v2
	VANDPS Y7, Y4, Y9        // to v2 if c2
	VMOVUPS Y9, (R9)(AX*1)
	VANDNPS Y4, Y7, Y4       // what is left for v0, v1
	VANDPS Y5, Y4, Y9        // to v1 if c1
	VMOVUPS Y9, (R13)(AX*1)
	VANDNPS Y4, Y5, Y4       // the rest to v0
	VMOVUPS Y4, (DI)(AX*1)
	ADDQ $32, AX
	JMP mgk
mgnext:
	LEAQ (SI)(CX*2), SI
	LEAQ (DX)(CX*2), DX
	LEAQ (DI)(CX*2), DI
	LEAQ (R9)(CX*2), R9
	ADDQ CX, BX
	DECQ R8
	JMP mgx
mgdone:
	VZEROUPPER
	RET

// func bnSums32(s0, s1, x, shift *float32, c, rows int)
// Over rows consecutive rows of c channels (c a multiple of 8):
// d = x − shift; s0 += Σ d; s1 += Σ d·d. Each block of 8 channels sums
// its rows in registers, even and odd rows apart, then adds into s0, s1.
TEXT ·bnSums32(SB), NOSPLIT, $0-48
	MOVQ s0+0(FP), DI
	MOVQ s1+8(FP), R8
	MOVQ x+16(FP), SI
	MOVQ shift+24(FP), DX
	MOVQ c+32(FP), CX
	MOVQ rows+40(FP), BX
	MOVQ CX, R11
	SHLQ $2, R11
	XORQ AX, AX
bsblk:
	CMPQ AX, CX
	JGE bsdone
	VMOVUPS (DX)(AX*4), Y7
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	LEAQ (SI)(AX*4), R12
	MOVQ BX, R13
bsrow2:
	CMPQ R13, $2
	JLT bsrow1
	VMOVUPS (R12), Y4
	VSUBPS Y7, Y4, Y4
	VADDPS Y4, Y0, Y0
	VFMADD231PS Y4, Y4, Y1
	VMOVUPS (R12)(R11*1), Y5
	VSUBPS Y7, Y5, Y5
	VADDPS Y5, Y2, Y2
	VFMADD231PS Y5, Y5, Y3
	LEAQ (R12)(R11*2), R12
	SUBQ $2, R13
	JMP bsrow2
bsrow1:
	CMPQ R13, $1
	JLT bsstore
	VMOVUPS (R12), Y4
	VSUBPS Y7, Y4, Y4
	VADDPS Y4, Y0, Y0
	VFMADD231PS Y4, Y4, Y1
bsstore:
	VADDPS Y2, Y0, Y0
	VADDPS Y3, Y1, Y1
	VADDPS (DI)(AX*4), Y0, Y0
	VMOVUPS Y0, (DI)(AX*4)
	VADDPS (R8)(AX*4), Y1, Y1
	VMOVUPS Y1, (R8)(AX*4)
	ADDQ $8, AX
	JMP bsblk
bsdone:
	VZEROUPPER
	RET

// func colSums32(s, x *float32, c, rows int)
// s += Σ over rows consecutive rows of c channels of x (c a multiple of 8),
// each block of 8 channels summed in registers, even and odd rows apart.
TEXT ·colSums32(SB), NOSPLIT, $0-32
	MOVQ s+0(FP), DI
	MOVQ x+8(FP), SI
	MOVQ c+16(FP), CX
	MOVQ rows+24(FP), BX
	MOVQ CX, R11
	SHLQ $2, R11
	XORQ AX, AX
csblk:
	CMPQ AX, CX
	JGE csdone
	VXORPS Y0, Y0, Y0
	VXORPS Y2, Y2, Y2
	LEAQ (SI)(AX*4), R12
	MOVQ BX, R13
csrow2:
	CMPQ R13, $2
	JLT csrow1
	VADDPS (R12), Y0, Y0
	VADDPS (R12)(R11*1), Y2, Y2
	LEAQ (R12)(R11*2), R12
	SUBQ $2, R13
	JMP csrow2
csrow1:
	CMPQ R13, $1
	JLT csstore
	VADDPS (R12), Y0, Y0
csstore:
	VADDPS Y2, Y0, Y0
	VADDPS (DI)(AX*4), Y0, Y0
	VMOVUPS Y0, (DI)(AX*4)
	ADDQ $8, AX
	JMP csblk
csdone:
	VZEROUPPER
	RET

// func affine32(o, x, mul, add *float32, c, rows int)
// o = x·mul + add over rows consecutive rows of c channels (c a multiple
// of 8).
TEXT ·affine32(SB), NOSPLIT, $0-48
	MOVQ o+0(FP), DI
	MOVQ x+8(FP), SI
	MOVQ mul+16(FP), DX
	MOVQ add+24(FP), R8
	MOVQ c+32(FP), CX
	MOVQ rows+40(FP), BX
	MOVQ CX, R11
	SHLQ $2, R11
afrow:
	TESTQ BX, BX
	JLE afdone
	XORQ AX, AX
af8:
	CMPQ AX, CX
	JGE afnext
	VMOVUPS (SI)(AX*4), Y0
	VMOVUPS (R8)(AX*4), Y1
	VFMADD231PS (DX)(AX*4), Y0, Y1
	VMOVUPS Y1, (DI)(AX*4)
	ADDQ $8, AX
	JMP af8
afnext:
	ADDQ R11, SI
	ADDQ R11, DI
	DECQ BX
	JMP afrow
afdone:
	VZEROUPPER
	RET

// func affineReLU32(o *float32, m *bool, x, mul, add *float32, c, rows int)
// y = x·mul + add over rows consecutive rows of c channels (c a multiple of
// 8); o = y where y > 0 else 0 (also for NaN), m = y > 0, as reluMask32.
TEXT ·affineReLU32(SB), NOSPLIT, $0-56
	MOVQ o+0(FP), DI
	MOVQ m+8(FP), R10
	MOVQ x+16(FP), SI
	MOVQ mul+24(FP), DX
	MOVQ add+32(FP), R8
	MOVQ c+40(FP), CX
	MOVQ rows+48(FP), BX
	LEAQ maskBytes<>(SB), R9
	VXORPS Y7, Y7, Y7
	MOVQ CX, R11
	SHLQ $2, R11
arrow:
	TESTQ BX, BX
	JLE ardone
	XORQ AX, AX
ar8:
	CMPQ AX, CX
	JGE arnext
	VMOVUPS (SI)(AX*4), Y0
	VMOVUPS (R8)(AX*4), Y1
	VFMADD231PS (DX)(AX*4), Y0, Y1
	VCMPPS $0x1e, Y7, Y1, Y2
	VANDPS Y2, Y1, Y3
	VMOVUPS Y3, (DI)(AX*4)
	VMOVMSKPS Y2, R12
	MOVQ (R9)(R12*8), R12
	MOVQ R12, (R10)(AX*1)
	ADDQ $8, AX
	JMP ar8
arnext:
	ADDQ R11, SI
	ADDQ R11, DI
	ADDQ CX, R10
	DECQ BX
	JMP arrow
ardone:
	VZEROUPPER
	RET

// func bnGradSums32(s0, s1, dy, x, mean, inv *float32, c, rows int)
// Over rows consecutive rows of c channels (c a multiple of 8): s0 += Σ dy;
// s1 += Σ dy·(x − mean)·inv, each block of 8 channels summed in registers,
// even and odd rows apart.
TEXT ·bnGradSums32(SB), NOSPLIT, $0-64
	MOVQ s0+0(FP), DI
	MOVQ s1+8(FP), R8
	MOVQ dy+16(FP), SI
	MOVQ x+24(FP), DX
	MOVQ mean+32(FP), R9
	MOVQ inv+40(FP), R10
	MOVQ c+48(FP), CX
	MOVQ rows+56(FP), BX
	MOVQ CX, R11
	SHLQ $2, R11
	XORQ AX, AX
bgblk:
	CMPQ AX, CX
	JGE bgdone
	VMOVUPS (R9)(AX*4), Y6
	VMOVUPS (R10)(AX*4), Y7
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	LEAQ (SI)(AX*4), R12
	LEAQ (DX)(AX*4), R14
	MOVQ BX, R13
bgrow2:
	CMPQ R13, $2
	JLT bgrow1
	VMOVUPS (R12), Y4
	VADDPS Y4, Y0, Y0
	VMOVUPS (R14), Y5
	VSUBPS Y6, Y5, Y5
	VMULPS Y7, Y5, Y5
	VFMADD231PS Y4, Y5, Y1
	VMOVUPS (R12)(R11*1), Y8
	VADDPS Y8, Y2, Y2
	VMOVUPS (R14)(R11*1), Y9
	VSUBPS Y6, Y9, Y9
	VMULPS Y7, Y9, Y9
	VFMADD231PS Y8, Y9, Y3
	LEAQ (R12)(R11*2), R12
	LEAQ (R14)(R11*2), R14
	SUBQ $2, R13
	JMP bgrow2
bgrow1:
	CMPQ R13, $1
	JLT bgstore
	VMOVUPS (R12), Y4
	VADDPS Y4, Y0, Y0
	VMOVUPS (R14), Y5
	VSUBPS Y6, Y5, Y5
	VMULPS Y7, Y5, Y5
	VFMADD231PS Y4, Y5, Y1
bgstore:
	VADDPS Y2, Y0, Y0
	VADDPS Y3, Y1, Y1
	VADDPS (DI)(AX*4), Y0, Y0
	VMOVUPS Y0, (DI)(AX*4)
	VADDPS (R8)(AX*4), Y1, Y1
	VMOVUPS Y1, (R8)(AX*4)
	ADDQ $8, AX
	JMP bgblk
bgdone:
	VZEROUPPER
	RET

// func bnGradOut32(o, dy, x, k, a, b *float32, c, rows int)
// o = k·dy + a·x + b over rows consecutive rows of c channels (c a
// multiple of 8).
TEXT ·bnGradOut32(SB), NOSPLIT, $0-64
	MOVQ o+0(FP), DI
	MOVQ dy+8(FP), SI
	MOVQ x+16(FP), DX
	MOVQ k+24(FP), R8
	MOVQ a+32(FP), R9
	MOVQ b+40(FP), R10
	MOVQ c+48(FP), CX
	MOVQ rows+56(FP), BX
	MOVQ CX, R11
	SHLQ $2, R11
borow:
	TESTQ BX, BX
	JLE bodone
	XORQ AX, AX
bo8:
	CMPQ AX, CX
	JGE bonext
	VMOVUPS (R10)(AX*4), Y0
	VMOVUPS (SI)(AX*4), Y1
	VFMADD231PS (R8)(AX*4), Y1, Y0
	VMOVUPS (DX)(AX*4), Y2
	VFMADD231PS (R9)(AX*4), Y2, Y0
	VMOVUPS Y0, (DI)(AX*4)
	ADDQ $8, AX
	JMP bo8
bonext:
	ADDQ R11, DI
	ADDQ R11, SI
	ADDQ R11, DX
	DECQ BX
	JMP borow
bodone:
	VZEROUPPER
	RET
