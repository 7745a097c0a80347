"""The smart-loudspeaker handoff: bulletins and alerts as packages (document, text, MP3) for the provincial source
system of the commune's loudspeaker radio (truyền thanh thông minh, Thông tư 39/2020/TT-BTTTT)."""
