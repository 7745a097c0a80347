"""Weekly and monthly reports to the commune People's Committee."""
