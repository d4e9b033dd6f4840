"""Marks chosen symbol-version needs of an ELF shared object as weak.

The dynamic loader refuses to load a library that needs a version its runtime
lacks (e.g. GLIBC_2.38) unless that need carries VER_FLG_WEAK. Once the symbols
behind the need are provided by compat_symbols.cc, the need can be weak.

Usage: python weaken_version_needs.py LIB.so VERSION [VERSION ...]
Prints the needs it changed; exits 1 if it is not a 64-bit little-endian ELF.
"""
import struct
import sys

SHT_GNU_VERNEED = 0x6FFFFFFE
VER_FLG_WEAK = 0x2


def _section_headers(data):
  shoff, = struct.unpack_from('<Q', data, 0x28)
  shentsize, shnum = struct.unpack_from('<HH', data, 0x3A)
  for i in range(shnum):
    (_, sh_type, _, _, sh_offset, sh_size, sh_link, sh_info, _, _) = struct.unpack_from(
        '<IIQQQQIIQQ', data, shoff + i * shentsize)
    yield sh_type, sh_offset, sh_size, sh_link, sh_info


def _c_string(data, offset):
  return data[offset:data.index(b'\0', offset)].decode()


def weaken(path, versions):
  with open(path, 'rb') as f:
    data = bytearray(f.read())
  if data[:4] != b'\x7fELF' or data[4] != 2 or data[5] != 1:
    sys.exit(f'{path}: not a 64-bit little-endian ELF file')
  sections = list(_section_headers(data))
  changed = []
  for sh_type, offset, _, link, count in sections:
    if sh_type != SHT_GNU_VERNEED:
      continue
    strtab_offset = sections[link][1]
    need = offset
    for _ in range(count):
      _, aux_count, _, aux, next_need = struct.unpack_from('<HHIII', data, need)
      entry = need + aux
      for _ in range(aux_count):
        _, flags, _, name, next_aux = struct.unpack_from('<IHHII', data, entry)
        version = _c_string(data, strtab_offset + name)
        if version in versions and not flags & VER_FLG_WEAK:
          struct.pack_into('<H', data, entry + 4, flags | VER_FLG_WEAK)
          changed.append(version)
        entry += next_aux
      need += next_need
  with open(path, 'wb') as f:
    f.write(data)
  return changed


if __name__ == '__main__':
  print(sys.argv[1], 'weakened:', ', '.join(weaken(sys.argv[1], set(sys.argv[2:]))) or 'nothing')
