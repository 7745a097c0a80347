"""Reports to the People's Committee (the `reports:` block): weekly and monthly, scheduled and on demand."""
from __future__ import annotations

from pydantic import Field

from tichwatch.config.base import StrictModel

HHMM = r"^([01][0-9]|2[0-3]):[0-5][0-9]$"
"""A local time of day, HH:MM."""


class ReportSettings(StrictModel):
    """Weekly and monthly reports to the commune People's Committee (Nghị định 30/2020/NĐ-CP form), as PDF and DOCX."""

    enabled: bool = Field(True, description="Make the scheduled reports.")
    weekly: bool = Field(True, description="Make a weekly report every Monday at weekly_local (local time), of the "
                         "previous Monday–Sunday week.")
    weekly_local: str = Field("07:00", pattern=HHMM, description="Local time on Monday the weekly report is made, "
                              "HH:MM.")
    monthly: bool = Field(True, description="Make a monthly report on the 1st of each month at monthly_local (local "
                          "time), of the previous calendar month.")
    monthly_local: str = Field("07:00", pattern=HHMM, description="Local time on the 1st the monthly report is made, "
                               "HH:MM.")
    parent_body: str = Field("", max_length=120, description="Governing body printed above the issuing body "
                             "(cơ quan chủ quản), e.g. 'UBND THÀNH PHỐ HÀ NỘI'; empty for none.")
    issuing_body: str = Field("UBND XÃ KIỀU PHÚ", min_length=1, max_length=120, description="Issuing body printed "
                              "top left, in capitals (tên cơ quan ban hành).")
    place_name: str = Field("Kiều Phú", min_length=1, max_length=60, description="Place name of the date line "
                            "('Kiều Phú, ngày 01 tháng 12 năm 2026').")
    number_suffix: str = Field("BC-UBND", min_length=1, max_length=40, pattern=r"^[^\s/]+$", description="Document "
                               "number's symbol after the slash: 'Số: 12/BC-UBND'.")
    assign_numbers: bool = Field(False, description="Number reports 1, 2, … per calendar year; off (the default) "
                                 "leaves the number blank ('Số:     /BC-UBND') for the commune's registry (văn thư) "
                                 "to fill in when it registers the signed report.")
    signer_authority: str = Field("TM. ỦY BAN NHÂN DÂN", max_length=80, description="Line above the signer's title "
                                  "(thẩm quyền ký), e.g. 'TM. ỦY BAN NHÂN DÂN' or 'KT. CHỦ TỊCH'; empty for none.")
    signer_title: str = Field("CHỦ TỊCH", min_length=1, max_length=80, description="Signer's title (chức vụ người "
                              "ký).")
    signer_name: str = Field("", max_length=80, description="Signer's full name printed under the space for the "
                             "signature; empty leaves the space for it to be written.")
    recipients: list[str] = Field(default_factory=lambda: ["UBND Thành phố Hà Nội (để b/c);",
                                                           "Ban Chỉ huy PCTT và TKCN xã;", "Lưu: VT."],
                                  max_length=20, description="The 'Nơi nhận:' list, one line each.")
    preparer: str = Field("TichWatch", max_length=80, description="Who prepared the report, named in its closing "
                          "paragraph (the system's name by default).")
    retention_days: int = Field(1825, ge=30, description="How long reports (their rows and files) are kept, days.")
    max_period_days: int = Field(366, ge=1, le=366, description="Longest period a report asked for on demand may "
                                 "cover, days.")
    max_queued: int = Field(5, ge=1, le=50, description="Reports asked for on demand that may wait at once (more "
                            "are refused until some are made).")
    max_notable: int = Field(20, ge=1, le=100, description="Most notable events a report lists.")
    tick_interval_s: float = Field(60.0, gt=0, le=3600, description="How often the schedule and the queue are "
                                   "checked, seconds.")
