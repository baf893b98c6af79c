package pickle

// The opcodes of protocols 0–5 that the machine executes, for the
// writers of pickles too.
const (
	OpMark            = '('
	OpStop            = '.'
	OpPop             = '0'
	OpPopMark         = '1'
	OpDup             = '2'
	OpFloat           = 'F'
	OpInt             = 'I'
	OpBinInt          = 'J'
	OpBinInt1         = 'K'
	OpLong            = 'L'
	OpBinInt2         = 'M'
	OpNone            = 'N'
	OpPersID          = 'P'
	OpBinPersID       = 'Q'
	OpReduce          = 'R'
	OpString          = 'S'
	OpBinString       = 'T'
	OpShortBinString  = 'U'
	OpUnicode         = 'V'
	OpBinUnicode      = 'X'
	OpAppend          = 'a'
	OpBuild           = 'b'
	OpGlobal          = 'c'
	OpDict            = 'd'
	OpEmptyDict       = '}'
	OpAppends         = 'e'
	OpGet             = 'g'
	OpBinGet          = 'h'
	OpLongBinGet      = 'j'
	OpList            = 'l'
	OpEmptyList       = ']'
	OpPut             = 'p'
	OpBinPut          = 'q'
	OpLongBinPut      = 'r'
	OpSetItem         = 's'
	OpTuple           = 't'
	OpEmptyTuple      = ')'
	OpSetItems        = 'u'
	OpBinFloat        = 'G'
	OpBinBytes        = 'B'
	OpShortBinBytes   = 'C'
	OpProto           = 0x80
	OpTuple1          = 0x85
	OpTuple2          = 0x86
	OpTuple3          = 0x87
	OpNewTrue         = 0x88
	OpNewFalse        = 0x89
	OpLong1           = 0x8a
	OpLong4           = 0x8b
	OpShortBinUnicode = 0x8c
	OpBinUnicode8     = 0x8d
	OpBinBytes8       = 0x8e
	OpStackGlobal     = 0x93
	OpMemoize         = 0x94
	OpFrame           = 0x95
	OpByteArray8      = 0x96
)
