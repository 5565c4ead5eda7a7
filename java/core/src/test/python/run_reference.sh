#!/bin/sh
# Regenerates the golden logits of the committed fixtures (dev time only).
#
# Debian's python3-torch 1.13 is enough. cusprun loads its own LibTorch beside it
# (docs/reliability.md, "Native libraries"), but it need not be installed system-wide:
#   apt-get download libtorch1.13 python3-torch   (and install python3-numpy plus the other
#   dependencies of libtorch1.13 normally), then for each .deb: dpkg -x FILE $TORCH_ROOT
# and point TORCH_ROOT at that directory. With a system-wide torch, leave TORCH_ROOT unset.
set -e
here=$(cd "$(dirname "$0")" && pwd)
fixtures="$here/../resources/fixtures"
if [ -n "$TORCH_ROOT" ]; then
  export LD_LIBRARY_PATH="$TORCH_ROOT/usr/lib/x86_64-linux-gnu${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
  export PYTHONPATH="$TORCH_ROOT/usr/lib/python3/dist-packages${PYTHONPATH:+:$PYTHONPATH}"
fi
exec /usr/bin/python3 "$here/reference_llama.py" "$fixtures"/*/
